"""The pages' languages: Simplified Chinese first, English as a choice (gettext catalogues).

Texts are written in English in the templates and the page modules (``{% trans %}``,
``{{ _("...") }}``, and ``N_("...")`` for texts kept in Python until a page shows them);
``pybabel`` extracts them (``make messages``) into ``web/locale/messages.pot`` and each
language's catalogue (``web/locale/<lang>/LC_MESSAGES/messages.po``) gives the translation.
The catalogues are read straight from the ``.po`` files when the app starts, so there is no
compiled file to forget.

Which language a page speaks: the ``twonets_lang`` cookie that the language switch sets,
else the browser's ``Accept-Language``, else Chinese.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANG_COOKIE = "twonets_lang"


@dataclass(frozen=True)
class Language:
    """A language the pages speak: its code, its name in itself, its ``lang`` attribute."""

    code: str
    name: str
    html_lang: str


LANGUAGES: tuple[Language, ...] = (
    Language("zh", "中文", "zh-Hans"),
    Language("en", "English", "en"),
)
DEFAULT = LANGUAGES[0]
BY_CODE: Mapping[str, Language] = {language.code: language for language in LANGUAGES}
# The language the texts are written in: it needs no catalogue.
SOURCE = "en"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark a text for the catalogue without translating it now (a page translates it)."""
    return message


def parse_accept_language(header: str) -> list[str]:
    """The language tags of an ``Accept-Language`` header, most wanted first (RFC 9110)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if 0.0 < quality <= 1.0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(*, cookie: str | None, accept_language: str | None) -> Language:
    """The language of a page: the chosen one, else the browser's first we speak, else Chinese."""
    if cookie is not None and cookie in BY_CODE:
        return BY_CODE[cookie]
    for tag in parse_accept_language(accept_language or ""):
        primary = tag.split("-", 1)[0]
        if primary in BY_CODE:
            return BY_CODE[primary]
    return DEFAULT


def language_of(request: Request) -> Language:
    """The language a request's page is shown in (kept on the request once worked out)."""
    known: Language | None = getattr(request.state, "language", None)
    if known is None:
        known = negotiate(
            cookie=request.cookies.get(LANG_COOKIE),
            accept_language=request.headers.get("accept-language"),
        )
        request.state.language = known
    return known


@cache
def translations(code: str) -> _gettext.NullTranslations:
    """The catalogue of a language, read from its ``.po`` file (English needs none)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if code == SOURCE or not path.exists():
        return _gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def template_callables(code: str) -> dict[str, Callable[..., Any]]:
    """``gettext``, ``ngettext`` and ``_`` for one page, in Jinja's "newstyle" form.

    Newstyle: the template passes values by name (``_("%(n)s cases", n=3)``) and the
    translation is formatted after it is chosen, with the values escaped, so a translator
    may move them around without the values being able to inject markup.
    """
    catalogue = translations(code)

    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        text = catalogue.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % values

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **values: Any) -> str:
        values.setdefault("num", num)
        text = catalogue.ngettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % values

    return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


def page_context(request: Request) -> dict[str, Any]:
    """What every page template gets to speak the request's language (a context processor)."""
    language = language_of(request)
    return {"language": language, "languages": LANGUAGES, **template_callables(language.code)}


@pass_context
def named(context: Context, thing: Any) -> str:
    """A place or department by its name in the page's language (``name`` or ``name_en``)."""
    language: Language = context.get("language", DEFAULT)
    if language.code == "zh":
        return str(thing.name)
    return str(getattr(thing, "name_en", None) or thing.name)


def translate(code: str, message: str) -> str:
    """One text in a language, outside a template (e.g. a menu label marked with ``N_``)."""
    return translations(code).gettext(message)

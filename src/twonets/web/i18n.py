"""The pages' languages: Simplified Chinese first, English as a choice (gettext catalogues).

Texts are written in English in the templates and the page modules (``{% trans %}``,
``{{ _("...") }}``, and ``N_("...")`` for texts kept in Python until a page shows them).
``make messages`` (``python -m twonets.web.i18n``) gathers them with Babel into one catalogue
per part of the web and language, ``web/locale/<lang>/LC_MESSAGES/<part>.po``: ``core`` for
the shell (``web/*.py``, ``templates/*.html``) and one per domain (``web/<domain>/``,
``templates/<domain>/``), so that work on one domain's pages never touches another's
catalogue. The catalogues are read straight from the ``.po`` files when the app starts and
merged, so there is no compiled file to forget.

Which language a page speaks: the ``twonets_lang`` cookie that the language switch sets,
else the browser's ``Accept-Language``, else Chinese.
"""

from __future__ import annotations

import gettext as _gettext
import io
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

WEB_DIR = Path(__file__).resolve().parent
LOCALE_DIR = WEB_DIR / "locale"
TEMPLATES_DIR = WEB_DIR / "templates"
CORE = "core"
# The calls whose first argument (``ngettext``: first two) is a text to translate.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
}
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


# The language of the request being served, for texts made outside a template (dates).
_CURRENT: ContextVar[Language] = ContextVar("twonets_language", default=DEFAULT)


def current_language() -> Language:
    """The language of the page being made (Chinese outside a request)."""
    return _CURRENT.get()


class LanguageMiddleware:
    """Works out each request's language once and keeps it for the code serving it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        language = negotiate(
            cookie=connection.cookies.get(LANG_COOKIE),
            accept_language=connection.headers.get("accept-language"),
        )
        token = _CURRENT.set(language)
        try:
            await self.app(scope, receive, send)
        finally:
            _CURRENT.reset(token)


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


def is_translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    """Whether a catalogue entry has its translation (a plural needs every form)."""
    if isinstance(string, str):
        return bool(string)
    return bool(string) and all(string or ())


def catalogue_path(code: str, part: str) -> Path:
    """Where the catalogue of one part of the web in one language lives."""
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{part}.po"


def read_catalogue(path: Path, code: str) -> Catalog:
    """One ``.po`` file as a Babel catalogue."""
    with path.open("rb") as po:
        return read_po(po, locale=code)


@cache
def translations(code: str, part: str | None = None) -> _gettext.NullTranslations:
    """Every catalogue of a language, merged, from their ``.po`` files (English needs none).

    The same English text may mean different things in two parts ("Answered": a call-up's
    answer time, a request's state): with ``part``, that part's own translations come first.
    """
    folder = LOCALE_DIR / code / "LC_MESSAGES"
    if code == SOURCE or not folder.is_dir():
        return _gettext.NullTranslations()
    merged = Catalog(locale=code)
    # A catalogue keeps the first translation it is given for a text: the part's own go first.
    paths = sorted(folder.glob("*.po"), key=lambda path: (path.stem != part, path.stem))
    for path in paths:
        for message in read_catalogue(path, code):
            if message.id and is_translated(message.string) and not message.fuzzy:
                merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def template_callables(code: str) -> dict[str, Callable[..., Any]]:
    """``gettext``, ``ngettext`` and ``_`` for one page, in Jinja's "newstyle" form.

    Newstyle: the template passes values by name (``_("%(n)s cases", n=3)``) and the
    translation is formatted after it is chosen, with the values escaped, so a translator
    may move them around without the values being able to inject markup.
    """

    def catalogue_of(context: Context) -> _gettext.NullTranslations:
        # The page's own part first: the template being rendered names it.
        name = context.name or ""
        return translations(code, part_of(TEMPLATES_DIR / name) if name else None)

    @pass_context
    def gettext(context: Context, message: str, **values: Any) -> str:
        text = catalogue_of(context).gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % values

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **values: Any) -> str:
        values.setdefault("num", num)
        text = catalogue_of(context).ngettext(singular, plural, num)
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


# --- gathering the texts (make messages) ---------------------------------------------------


def part_of(path: Path) -> str:
    """Which catalogue a source file's texts belong to: its domain's, or the core's.

    ``templates/<domain>/...`` and ``web/<domain>/...`` are a domain's; the files directly in
    ``templates/`` and ``web/`` are the shell's (``core``).
    """
    root = TEMPLATES_DIR if path.is_relative_to(TEMPLATES_DIR) else WEB_DIR
    inner = path.relative_to(root).parts
    return inner[0] if len(inner) > 1 else CORE


def _sources() -> Iterator[tuple[Path, str]]:
    for path in sorted(WEB_DIR.rglob("*.py")):
        yield path, "python"
    for path in sorted(TEMPLATES_DIR.rglob("*.html")):
        yield path, "jinja2"


def gather() -> dict[str, set[str | tuple[str, str]]]:
    """The texts each part of the web marks for translation (plurals as (singular, plural))."""
    found: dict[str, set[str | tuple[str, str]]] = defaultdict(set)
    options = {"extensions": "jinja2.ext.i18n"}
    for path, method in _sources():
        part = part_of(path)
        for _line, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options if method == "jinja2" else None
        ):
            if isinstance(message, tuple):
                singular, plural = message[0], message[1]
                if singular and plural:
                    found[part].add((singular, plural))
            elif message:
                found[part].add(message)
    return found


HEADER = """\
# {language} texts of the Two Nets pages: {part}.
# Kept by hand; `make messages` adds the new texts of these pages with an empty translation.
#"""


def update_catalogues(code: str) -> dict[str, list[str]]:
    """Bring each catalogue of a language up to its part's texts; the untranslated, by part."""
    untranslated: dict[str, list[str]] = {}
    for part, messages in sorted(gather().items()):
        path = catalogue_path(code, part)
        old = read_catalogue(path, code) if path.exists() else Catalog(locale=code)
        new = Catalog(
            locale=code,
            project="Two Nets",
            version="1",
            fuzzy=False,
            header_comment=HEADER.format(part=part, language=BY_CODE[code].name),
            creation_date=old.creation_date,
            revision_date=old.creation_date,
            msgid_bugs_address="the Two Nets maintainers",
            last_translator="the Two Nets maintainers",
            language_team=f"{BY_CODE[code].name} <the Two Nets maintainers>",
        )
        for message in sorted(messages, key=lambda m: m if isinstance(m, str) else m[0]):
            kept = old.get(message if isinstance(message, str) else message[0])
            new.add(message, kept.string if kept is not None else "")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, new, width=0, no_location=True, omit_header=False, sort_output=True)
        untranslated[part] = [
            str(m.id if isinstance(m.id, str) else m.id[0])
            for m in new
            if m.id and not is_translated(m.string)
        ]
    return untranslated


def main(argv: list[str]) -> int:
    """``python -m twonets.web.i18n``: update every language's catalogues; list what waits."""
    waiting = 0
    for language in LANGUAGES:
        if language.code == SOURCE:
            continue
        for part, texts in update_catalogues(language.code).items():
            for text in texts:
                print(f"{language.code}/{part}: untranslated: {text}")
            waiting += len(texts)
    print(f"{waiting} texts wait for a translation" if waiting else "every text is translated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

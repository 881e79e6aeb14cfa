"""The pages speak Simplified Chinese first and English on request; the catalogue is complete."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from twonets.web import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalogue(part: str) -> dict[str, str]:
    path = i18n.catalogue_path("zh", part)
    if not path.exists():
        return {}
    return {
        str(m.id if isinstance(m.id, str) else m.id[0]): str(m.string)
        for m in i18n.read_catalogue(path, "zh")
        if m.id and i18n.is_translated(m.string) and not m.fuzzy
    }


def test_the_shell_marks_texts_and_every_part_of_the_web_has_its_catalogue() -> None:
    gathered = i18n.gather()

    assert "Log out" in gathered[i18n.CORE]
    assert i18n.part_of(i18n.TEMPLATES_DIR / "codes" / "scan.html") == "codes"
    assert i18n.part_of(i18n.TEMPLATES_DIR / "base.html") == "core"
    assert i18n.part_of(i18n.WEB_DIR / "governance" / "my_data.py") == "governance"
    assert i18n.part_of(i18n.WEB_DIR / "pages.py") == "core"


def test_every_text_of_the_pages_has_a_chinese_translation() -> None:
    missing = []
    for part, messages in i18n.gather().items():
        translated = _catalogue(part)
        for message in messages:
            key = message if isinstance(message, str) else message[0]
            if key not in translated:
                missing.append(f"{part}: {key}")

    assert sorted(missing) == [], "run `make messages` and translate what it lists"


def test_a_plural_needs_every_form_translated() -> None:
    assert i18n.is_translated(("一个", "多个"))
    assert not i18n.is_translated(("",))
    assert not i18n.is_translated(("一个", ""))
    assert not i18n.is_translated("")
    assert i18n.is_translated("好")


def test_translations_keep_every_value_of_their_text() -> None:
    broken = []
    for path in sorted(i18n.catalogue_path("zh", "core").parent.glob("*.po")):
        for m in i18n.read_catalogue(path, "zh"):
            if not (m.id and m.string and isinstance(m.id, str)):
                continue
            if set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(str(m.string))):
                broken.append(f"{path.stem}: {m.id}")

    assert broken == []


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "zh"),
        (None, "en-GB,en;q=0.9", "en"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "fr-FR, en;q=0.5", "en"),
        (None, "fr-FR", "zh"),
        (None, "en;q=0.2, zh-Hans;q=0.8", "zh"),
        ("en", "zh-CN", "en"),
        ("xx", "en", "en"),
    ],
)
def test_the_language_is_the_chosen_one_else_the_browsers_else_chinese(
    cookie: str | None, header: str | None, expected: str
) -> None:
    assert i18n.negotiate(cookie=cookie, accept_language=header).code == expected


@given(st.text(max_size=200))
def test_any_accept_language_header_is_read_without_error(header: str) -> None:
    tags = i18n.parse_accept_language(header)

    assert all(tag == tag.lower() and tag in header.lower() for tag in tags)


@given(
    st.lists(
        st.tuples(st.sampled_from(["en", "zh", "fr", "de-at"]), st.integers(1, 999)),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
def test_languages_come_most_wanted_first(ranked: list[tuple[str, int]]) -> None:
    header = ", ".join(f"{tag};q={q / 1000:.3f}" for tag, q in ranked)

    tags = i18n.parse_accept_language(header)

    qualities = dict(ranked)
    assert [qualities[t] for t in tags] == sorted(qualities.values(), reverse=True)


def test_a_page_speaks_chinese_by_default(client: TestClient) -> None:
    response = client.get("/districts", headers={"Accept-Language": ""})

    assert '<html lang="zh-Hans"' in response.text
    assert "<title>各区 · 两张网</title>" in response.text
    assert "互认地区" in response.text
    assert "Trust regions" not in response.text


def test_a_page_speaks_english_to_a_browser_that_asks(client: TestClient) -> None:
    response = client.get("/districts", headers={"Accept-Language": "en-GB,en;q=0.9"})

    assert '<html lang="en"' in response.text
    assert "Trust regions" in response.text
    assert "互认地区" not in response.text


def test_the_language_switch_remembers_the_choice(client: TestClient) -> None:
    switched = client.get("/language/zh?next=/districts", follow_redirects=False)

    assert switched.status_code == 303
    assert switched.headers["location"] == "/districts"
    assert "twonets_lang=zh" in switched.headers["set-cookie"]
    page = client.get("/districts")  # the client still says Accept-Language: en
    assert "互认地区" in page.text


def test_the_language_switch_goes_only_to_pages_of_this_site(client: TestClient) -> None:
    switched = client.get("/language/en?next=//evil.example/x", follow_redirects=False)

    assert switched.headers["location"] == "/"


def test_values_in_a_translated_text_are_escaped(client: TestClient) -> None:
    page = client.get("/districts", headers={"Accept-Language": "zh"})

    # "%(n)s" and "%(people)s" were filled in, after translation, as plain text.
    assert re.search(r"本市16个区，2020年人口普查：24,870,895人", page.text)


def test_dates_made_in_a_handler_speak_the_page_s_language() -> None:
    """A sync handler runs in a worker thread: the request's language must reach it there."""
    from datetime import UTC, datetime

    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    from twonets.web.pages import local_date, local_time

    moment = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)  # 17:05 in Shanghai
    app = FastAPI()
    app.add_middleware(i18n.LanguageMiddleware)

    @app.get("/when", response_class=PlainTextResponse)
    def when() -> str:
        return f"{local_date(moment)}|{local_time(moment)}"

    client = TestClient(app)
    assert client.get("/when").text == "2026年11月30日|2026年11月30日 17:05"
    english = client.get("/when", headers={"Accept-Language": "en-GB"}).text
    assert english == "30 Nov 2026|30 Nov 2026, 17:05"
    client.cookies.set(i18n.LANG_COOKIE, "en")
    assert client.get("/when", headers={"Accept-Language": "zh-CN"}).text.startswith("30 Nov")
    assert i18n.current_language() is i18n.DEFAULT  # nothing leaks out of the request


def test_a_text_two_parts_translate_differently_reads_as_its_own_part_says() -> None:
    by_part = {
        path.stem: _catalogue(path.stem)
        for path in sorted(i18n.catalogue_path("zh", "core").parent.glob("*.po"))
    }
    differing = {
        (part, text, zh)
        for part, table in by_part.items()
        for text, zh in table.items()
        if any(other.get(text, zh) != zh for name, other in by_part.items() if name != part)
    }
    assert differing, "no text means two things yet: this test would check nothing"
    for part, text, zh in differing:
        if "%(" not in text:
            assert i18n.translations("zh", part).gettext(text) == zh, (part, text)


def test_a_page_speaks_its_own_part_s_words(client: TestClient) -> None:
    from jinja2 import Environment

    env = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    env.globals.update(i18n.template_callables("zh"))
    health = i18n.translations("zh", "health").gettext("Answered")
    requests = i18n.translations("zh", "requests").gettext("Answered")
    assert health != requests
    source = '{{ _("Answered") }}'
    env.loader = __import__("jinja2").DictLoader(
        {"health/x.html": source, "requests/x.html": source}
    )
    assert env.get_template("health/x.html").render() == health
    assert env.get_template("requests/x.html").render() == requests

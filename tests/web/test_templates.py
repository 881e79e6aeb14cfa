"""The page templates carry no inline script: the Content-Security-Policy would refuse it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "twonets" / "web" / "templates"
# An HTML event-handler attribute (onclick=, onsubmit=, ...), or a javascript: link.
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']|javascript:""", re.IGNORECASE)
# A <script> element that neither loads a file nor carries JSON data.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*(\bsrc=|type=\"application/json\"))[^>]*>", re.I)


def _templates() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def test_there_are_templates_to_check() -> None:
    assert len(_templates()) > 20


@pytest.mark.parametrize("path", _templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_a_template_has_no_inline_script(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    handlers = [m.group(0).strip() for m in HANDLER.finditer(text)]
    scripts = [m.group(0) for m in INLINE_SCRIPT.finditer(text)]
    assert handlers == [], f"inline event handlers in {path.name}: {handlers}"
    assert scripts == [], f"inline <script> in {path.name}: {scripts}"


def test_the_checks_catch_what_they_look_for() -> None:
    assert HANDLER.search('<select onchange="this.form.submit()">')
    assert HANDLER.search("<a href='javascript:void(0)'>")
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/x.js"></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="d">{}</script>')

"""The menu: every role has a title, and every entry leads to a page the app serves."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from twonets.core.models import Role
from twonets.web.navigation import NAV
from twonets.web.pages import ROLE_TITLES


def test_every_role_has_a_title_for_the_start_page() -> None:
    assert set(ROLE_TITLES) == set(Role)


def test_every_menu_entry_is_a_served_page(app: FastAPI) -> None:
    served = {str(c.path) for c in iter_route_contexts(app.routes) if "GET" in (c.methods or ())}
    assert "/" in served  # the walk sees the included routers' pages
    missing = [item.href for item in NAV if item.href not in served]
    assert missing == []

"""Every page a role's menu offers opens for that role, offline, within the security policy.

For each kind of demo account: log in, open every entry of the menu, and check that the page
answers 200, that the browser asked no host but the platform's own for anything (the pages
work on a closed network: no CDN, no tile server unless a city names its own), that the
Content-Security-Policy refused nothing (no inline script slipped back in), and that axe-core
finds no serious or critical accessibility violation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from e2e.browser import axe_violations, log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

# Accounts by the start of the description the demo prints for them.
ROLES = (
    "administrator",
    "data protection officer",
    "city operations operator",
    "operations supervisor",
    "field staff, Huangpu urban management",
    "health planner",
    "staff, Public Security Bureau",
    "staff, Market Regulation",
    "staff issuing ID cards",
    "verifier (library entry)",
    "verifier at the library entrance",
    "codes authority for health",
    "laboratory staff",
    "resident ",
    "reservist",
    "enterprise",
)


class Watch:
    """What the browser asked for and what its security policy refused, while a page ran."""

    def __init__(self, page: Page, own_host: str) -> None:
        self.page = page
        self.own_host = own_host
        self.foreign: list[str] = []
        self.refused: list[str] = []
        page.on("request", self._request)
        page.on("console", self._console)

    def _request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"data", "blob", "about"}:
            return
        if parts.netloc != self.own_host:
            self.foreign.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.refused.append(f"{self.page.url}: {message.text[:120]}")


# Pages axe-core has already checked in this run: many roles share a page (the districts, the
# departments), and one check of each page is enough for its markup.
_checked: set[str] = set()


def _accessibility(page: Page, where: str) -> list[str]:
    if where in _checked:
        return []
    _checked.add(where)
    return [f"{where}: {v}" for v in axe_violations(page)]


def _menu(page: Page) -> list[tuple[str, str]]:
    links = page.locator("header.shell nav a[href^='/']")
    entries = []
    for i in range(links.count()):
        link = links.nth(i)
        href = link.get_attribute("href") or ""
        entries.append((link.inner_text().strip(), href))
    return [(label, href) for label, href in entries if href not in {"/", "/login"}]


@pytest.mark.e2e
@pytest.mark.parametrize("role", ROLES)
def test_every_menu_entry_opens_offline_for_the_role_that_sees_it(
    page: Page, live_server: LiveServer, role: str
) -> None:
    account = live_server.account(role)
    watch = Watch(page, urlsplit(live_server.base_url).netloc)
    log_in(page, account.username, account.password)
    entries = _menu(page)
    assert entries, f"{role} sees no menu entries"

    failures = []
    inaccessible = _accessibility(page, f"home of {role}")
    for label, href in entries:
        response = page.goto(href, wait_until="load")
        assert response is not None
        if response.status != 200:
            failures.append(f"{label} ({href}): {response.status}")
        page.wait_for_timeout(150)  # let the page's own scripts start their requests
        inaccessible += _accessibility(page, href)

    assert failures == [], f"menu entries that do not open for {role}: {failures}"
    assert inaccessible == [], f"accessibility violations for {role}: {inaccessible}"
    assert watch.foreign == [], f"requests to other hosts: {watch.foreign}"
    assert watch.refused == [], f"refused by the security policy: {watch.refused}"


@pytest.mark.e2e
def test_the_api_page_works_offline(page: Page, live_server: LiveServer) -> None:
    watch = Watch(page, urlsplit(live_server.base_url).netloc)

    page.goto("/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Two Nets")
    expect(page.locator(".opblock").first).to_be_visible()
    page.locator(".opblock-summary-control").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert axe_violations(page) == []
    assert watch.foreign == []
    assert watch.refused == []


@pytest.mark.e2e
def test_the_login_page_needs_nothing_from_elsewhere(page: Page, live_server: LiveServer) -> None:
    watch = Watch(page, urlsplit(live_server.base_url).netloc)

    page.goto("/login")
    assert axe_violations(page) == []
    page.goto("/districts")
    page.wait_for_timeout(300)
    assert axe_violations(page) == []

    assert watch.foreign == []
    assert watch.refused == []
    icon = page.locator("link[rel='icon']")
    assert icon.get_attribute("href") == "/static/favicon.svg"

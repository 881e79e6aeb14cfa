"""The pages of the core in a real browser: login, menus by role, the district map, ids."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import submit_login

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

DEMO_ADMIN = ("admin", "twonets-demo")
LOGIN_URL = re.compile(r"/login\?next=(%2F|/)$")


@pytest.mark.e2e
def test_admin_logs_in_through_the_form(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    submit_login(page, *DEMO_ADMIN)

    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_test_id("welcome")).to_contain_text("Welcome")
    expect(page.locator("header.shell nav")).to_contain_text("Departments")


@pytest.mark.e2e
def test_a_wrong_password_stays_on_the_login_page(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url == live_server.url("/login")
    ) as answer:
        submit_login(page, "admin", "not-the-password")

    assert answer.value.status == 401
    expect(page).to_have_url(live_server.url("/login"))
    expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_label("User name")).to_have_value("admin")


@pytest.mark.e2e
def test_the_start_page_asks_for_a_login_then_comes_back(
    page: Page, live_server: LiveServer
) -> None:
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)

    submit_login(page, *DEMO_ADMIN)

    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_test_id("welcome")).to_be_visible()


@pytest.mark.e2e
def test_a_resident_sees_no_departments(page: Page, live_server: LiveServer) -> None:
    resident = live_server.account("resident")
    page.goto("/login")
    submit_login(page, resident.username, resident.password)

    expect(page).to_have_url(live_server.url("/"))
    expect(page.get_by_test_id("welcome")).to_contain_text("Welcome")
    expect(page.locator("header.shell nav")).to_contain_text("Districts")
    expect(page.locator("header.shell nav")).not_to_contain_text("Departments")

    response = page.goto("/departments")
    assert response is not None
    assert response.status == 403
    expect(page.locator("main h1")).to_have_text("Forbidden")


@pytest.mark.e2e
def test_the_district_map_draws_16_districts_offline(page: Page, live_server: LiveServer) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto("/districts")

    expect(page.locator('#map[data-loaded="16"]')).to_be_attached()
    expect(page.locator("#map path.leaflet-interactive")).to_have_count(16)
    expect(page.locator(".grid table tbody tr")).to_have_count(16)
    box = page.locator("#map").bounding_box()
    assert box is not None
    assert box["width"] > 200
    assert box["height"] > 200
    assert requested, "the page made no request at all"
    elsewhere = [url for url in requested if not url.startswith(live_server.base_url + "/")]
    assert elsewhere == []


@pytest.mark.e2e
def test_the_identifier_check_gives_one_verdict_per_line(page: Page) -> None:
    page.goto("/ids")
    page.locator("textarea[name=value]").fill(
        "11010519491231002X\n91110000600037341L\n110105194912310023"
    )
    page.locator("form[action='/ids'] button[type=submit]").click()

    rows = page.get_by_test_id("id-results").locator("tbody tr")
    expect(rows).to_have_count(3)
    verdicts = rows.locator("td:nth-child(3)")
    expect(verdicts).to_have_text(["valid", "valid", "check character should be X, got 3"])
    expect(rows.nth(2)).to_have_class("bad")


@pytest.mark.e2e
def test_logging_out_ends_the_session(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    submit_login(page, *DEMO_ADMIN)
    expect(page.get_by_test_id("welcome")).to_be_visible()

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(live_server.url("/login"))
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)

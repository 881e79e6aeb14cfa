"""The operations centre in a real browser, on the demo city: the dashboard's map and cases,
a case page, and the field view."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import submit_login

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


def log_in_to(page: Page, path: str, username: str, password: str) -> None:
    """Open ``path``, log in on the form it sends us to, and come back to it."""
    page.goto(path)
    submit_login(page, username, password)
    page.wait_for_url(re.compile(re.escape(path) + "$"))


@pytest.mark.e2e
def test_the_dashboard_shows_the_map_and_a_case(page: Page, live_server: LiveServer) -> None:
    operator = live_server.account("city operations operator")
    log_in_to(page, "/ops", operator.username, operator.password)

    the_map = page.get_by_test_id("ops-map")
    expect(the_map).to_have_attribute("data-districts", "loaded")
    expect(the_map).to_have_attribute("data-layer-cases", re.compile(r"^[1-9]\d*$"))
    # Districts are drawn as paths and open cases as circle markers in Leaflet's SVG layer.
    assert the_map.locator("path.leaflet-interactive").count() > 16
    expect(page.get_by_test_id("live")).to_contain_text("live")

    rows = page.get_by_test_id("case-row")
    expect(rows.first).to_be_visible()
    number = rows.first.locator("a").inner_text()
    rows.first.locator("a").click()

    expect(page.get_by_test_id("case-state")).to_be_visible()
    expect(page.locator("main")).to_contain_text(number)
    expect(page.get_by_test_id("history").locator("li").first).to_contain_text("report")


@pytest.mark.e2e
def test_filters_narrow_the_case_list(page: Page, live_server: LiveServer) -> None:
    operator = live_server.account("city operations operator")
    log_in_to(page, "/ops", operator.username, operator.password)
    expect(page.get_by_test_id("case-row").first).to_be_visible()

    with page.expect_response(
        lambda r: "/ops/fragments/cases" in r.url and "district=310101" in r.url
    ):
        page.get_by_label("District").select_option("310101")

    rows = page.get_by_test_id("case-row")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert "310101" in text


@pytest.mark.e2e
def test_field_staff_see_their_tasks(page: Page, live_server: LiveServer) -> None:
    field = live_server.account("field staff, Huangpu urban management")
    log_in_to(page, "/ops/tasks", field.username, field.password)

    tasks = page.get_by_test_id("task")
    expect(tasks.first).to_be_visible()
    expect(tasks.first.get_by_role("button", name="Take it on")).to_be_visible()
    expect(tasks.first.locator("input[type=file][name=photos]")).to_be_attached()

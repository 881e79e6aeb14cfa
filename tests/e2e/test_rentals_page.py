"""The group-rental page in a real browser, on the demo city: the district heat map of leads
and a lead's months against its building's households."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import submit_login

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


@pytest.mark.e2e
def test_housing_staff_see_the_heat_map_and_a_leads_chart(
    page: Page, live_server: LiveServer
) -> None:
    officer = live_server.account("staff, Housing Administration")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/ops/rentals")
    submit_login(page, officer.username, officer.password)
    page.wait_for_url(re.compile(r"/ops/rentals$"))

    # The menu leads here.
    expect(page.locator('nav a[href="/ops/rentals"]').first).to_be_attached()
    the_map = page.get_by_test_id("rentals-map")
    expect(the_map).to_have_attribute("data-loaded", re.compile(r"^[1-9]\d*$"))
    # Every district is drawn; those with leads are filled darker.
    assert the_map.locator("path.leaflet-interactive").count() == 16  # Shanghai's districts

    folder = os.environ.get("TWONETS_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/rentals-map.png", full_page=False)
    first = page.locator("details[data-history]").first
    first.locator("summary").click()
    chart = first.get_by_test_id("rentals-chart")
    expect(chart).to_have_attribute("data-months", "12")
    # Three panels (water, electricity, gas), each with its line of twelve points.
    assert chart.locator("svg polyline").count() == 3
    assert chart.locator("svg circle").count() == 36
    expect(chart.locator(".legend")).to_be_visible()
    if folder:
        page.screenshot(path=f"{folder}/rentals.png", full_page=False)


@pytest.mark.e2e
def test_housing_staff_see_thresholds_with_their_effect(
    page: Page, live_server: LiveServer
) -> None:
    officer = live_server.account("staff, Housing Administration")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/ops/rentals")
    submit_login(page, officer.username, officer.password)
    page.wait_for_url(re.compile(r"/ops/rentals$"))
    page.get_by_test_id("rentals-thresholds-link").click()
    table = page.get_by_test_id("rentals-thresholds")
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() == 16
    expect(table.locator('tr[aria-current="true"]')).to_have_count(1)
    folder = os.environ.get("TWONETS_SHOTS")
    if folder:
        page.screenshot(path=f"{folder}/rentals-thresholds.png", full_page=False)

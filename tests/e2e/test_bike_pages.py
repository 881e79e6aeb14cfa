"""Shared bikes in a real browser, on the demo city: the hour slider redraws the cells, the
alerts list the piles, the plan arrives after the page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import submit_login

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


@pytest.mark.e2e
def test_the_hour_slider_changes_the_cells_shown(page: Page, live_server: LiveServer) -> None:
    operator = live_server.account("city operations operator")
    page.goto("/ops/bikes")
    submit_login(page, operator.username, operator.password)
    page.wait_for_url(re.compile(r"/ops/bikes$"))
    # Yesterday in Shanghai: a whole day of the demo's trips, whatever the hour now.
    yesterday = (datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)).date()
    page.goto(f"/ops/bikes?day={yesterday.isoformat()}")

    the_map = page.get_by_test_id("bikes-map")
    slider = page.get_by_test_id("bikes-slider")
    summary = page.get_by_test_id("bikes-summary")
    # Colour by trip starts: at 04:00 few rides start, at the morning peak many.
    page.get_by_test_id("bikes-measure").select_option("starts")
    slider.fill("4")
    expect(the_map).to_have_attribute("data-hour", "4")
    night = int(the_map.get_attribute("data-cells") or "0")
    night_text = summary.inner_text()
    slider.fill("8")
    expect(the_map).to_have_attribute("data-hour", "8")
    expect(page.get_by_test_id("bikes-hour")).to_have_text("08:00")
    morning = int(the_map.get_attribute("data-cells") or "0")
    assert morning > night
    assert summary.inner_text() != night_text
    assert the_map.locator("path.leaflet-interactive").count() >= morning

    expect(page.get_by_test_id("bikes-alert").first).to_be_visible()
    expect(page.get_by_test_id("bikes-move").first).to_be_attached(timeout=120_000)

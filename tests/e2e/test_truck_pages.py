"""The muck-trucks page in a real browser, on the demo city: live positions on the map, a
truck's track on demand, alerts, violations, sightings and company scores."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.test_operations_pages import log_in_to
from twonets.operations.trucks import demo

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


@pytest.mark.e2e
def test_the_operator_sees_the_fleet_and_draws_a_track(page: Page, live_server: LiveServer) -> None:
    page.set_viewport_size({"width": 1366, "height": 900})
    operator = live_server.account("city operations operator")
    log_in_to(page, "/ops/trucks", operator.username, operator.password)

    the_map = page.get_by_test_id("trucks-map")
    expect(the_map).to_have_attribute("data-trucks", str(len(demo.PLATES)))
    expect(the_map).to_have_attribute("data-permits", "4")  # the route, two sites, a school
    plate = demo.PLATES[demo.DETOUR]
    # Each truck is a labelled marker; choosing one draws its track.
    label = the_map.locator(".truck-label", has_text=plate)
    expect(label).to_be_visible()
    label.dispatch_event("click")  # labels of trucks parked together overlap
    expect(the_map).to_have_attribute("data-track", plate)
    expect(page.get_by_test_id("trucks-status")).to_contain_text(re.compile(r"\d+"))
    violations = page.get_by_test_id("truck-violations")
    expect(violations).to_contain_text(demo.PLATES[demo.DUMPER])
    expect(page.get_by_test_id("truck-sightings")).to_contain_text(demo.PLATES[demo.DUMPER])
    score = page.get_by_test_id("company-score").first
    expect(score).to_have_text(re.compile(r"^\d+$"))
    assert int(score.inner_text()) < 100
    shots = os.environ.get("TWONETS_SHOTS")
    if shots:
        page.screenshot(path=os.path.join(shots, "trucks.png"), full_page=True)
    # In Chinese, the map's words too.
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("渣土车监管")
    expect(page.get_by_test_id("trucks-status")).to_contain_text("辆车")
    if shots:
        page.screenshot(path=os.path.join(shots, "trucks-zh.png"), full_page=True)

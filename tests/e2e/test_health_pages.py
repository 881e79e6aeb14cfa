"""The health planner's page in a real browser, on the demo city."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import PHONE, fits_the_screen, log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


def open_health(page: Page, live_server: LiveServer, query: str = "") -> None:
    planner = live_server.account("health planner")
    log_in(page, planner.username, planner.password)
    page.goto(f"/health{query}")
    expect(page.locator("main h1")).to_have_text("Public-health readiness")


@pytest.mark.e2e
def test_the_planner_sees_readiness_centres_and_alarms(page: Page, live_server: LiveServer) -> None:
    open_health(page, live_server)

    readiness = page.get_by_test_id("readiness")
    expect(readiness.locator("tbody tr")).to_have_count(16)
    share = page.get_by_test_id("reserve-share").inner_text()
    assert 0 < int(share.rstrip("%")) < 100

    centres = page.get_by_test_id("centres-map")
    expect(centres).to_have_attribute("data-centres", "10")
    expect(centres).to_have_attribute("data-outlines", "31", timeout=15_000)
    expect(page.get_by_test_id("centres-table").locator("tbody tr")).to_have_count(10)

    expect(page.get_by_test_id("alarm-map")).to_have_attribute("data-loaded", "16", timeout=15_000)
    alerts = page.get_by_test_id("alerts")
    expect(alerts.locator("tr.pathogen", has_text="influenza-a-h7n9")).to_be_visible()
    # The planted outbreak is the series shown, with its alarm days marked.
    expect(page.locator("select[name=series] option:checked")).to_contain_text(
        "acute-diarrhoea · Minhang"
    )
    assert page.get_by_test_id("series-chart").locator("circle.alarm").count() >= 2
    expect(page.get_by_test_id("turnaround").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("mobilisation").first).to_contain_text("Winter readiness")


@pytest.mark.e2e
def test_a_faster_epidemic_needs_more_beds(page: Page, live_server: LiveServer) -> None:
    open_health(page, live_server)
    legend = page.locator("#projection figcaption")
    before = int(
        re.search(r"Hospital beds: peak ([\d,]+)", legend.inner_text()).group(1).replace(",", "")
    )  # type: ignore[union-attr]

    form = page.get_by_test_id("projection-form")
    form.get_by_label("Doubling time (days)").fill("3")
    form.get_by_role("button", name="Project").click()

    expect(page).to_have_url(re.compile(r"doubling_time=3"))
    after = int(
        re.search(r"Hospital beds: peak ([\d,]+)", legend.inner_text()).group(1).replace(",", "")
    )  # type: ignore[union-attr]
    assert after > before
    expect(page.get_by_test_id("projection-chart").locator("polyline")).to_have_count(3)


@pytest.mark.e2e
def test_a_bad_parameter_is_named_next_to_its_field(page: Page, live_server: LiveServer) -> None:
    open_health(page, live_server, "?market_share=2#projection")
    field = page.get_by_test_id("projection-form").get_by_label("Hospitals' share of patients")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("projection-form").locator("small.error")).to_have_text(
        "must be at most 1, got 2"
    )


@pytest.mark.e2e
def test_a_reservist_answers_a_call_up_on_a_phone(phone: Page, live_server: LiveServer) -> None:
    reservist = live_server.account("reservist")
    log_in(phone, reservist.username, reservist.password)

    phone.goto("/health/my-calls")

    expect(phone.locator("main h1")).to_have_text("My call-ups")
    fits_the_screen(phone)
    pending = phone.get_by_test_id("call").filter(has=phone.get_by_test_id("accept")).first
    expect(pending.get_by_test_id("call-status")).to_have_text("Pending")
    for name in ("accept", "refuse"):
        box = pending.get_by_test_id(name).bounding_box()
        assert box is not None
        assert box["x"] >= 0, (name, box)
        assert box["x"] + box["width"] <= PHONE["width"], (name, box)
        assert box["height"] >= 40, (name, box)  # a thumb's worth

    pending.get_by_test_id("accept").tap()

    expect(phone).to_have_url(re.compile(r"/health/my-calls\?answered=\d+"))
    expect(phone.get_by_test_id("notice")).to_contain_text("You accepted the call to")
    fits_the_screen(phone)

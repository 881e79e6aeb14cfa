"""Codes in a real browser, on the demo city: holders, gatekeepers, health staff, statistics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e import browser

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


def log_in(page: Page, live_server: LiveServer, description: str) -> None:
    """Log in as the demo account with this description and wait for the start page."""
    account = live_server.account(description)
    browser.log_in(page, account.username, account.password)


def log_out(page: Page) -> None:
    """Log out through the header's button."""
    page.locator("header.shell").get_by_role("button", name="Log out").click()
    expect(page.locator("form[action='/login']")).to_be_visible()


def code_text(page: Page, scenario: str) -> str:
    """Open the holder's code for a scenario and read the QR code's text."""
    page.goto(f"/code?scenario={scenario}")
    expect(page.locator("#code svg.qr")).to_be_visible()
    page.locator("#code details summary").click()
    return page.get_by_test_id("code-text").input_value()


def scan(page: Page, text: str, place: str) -> None:
    """At the scanner's desk, check one code at one checkpoint."""
    page.goto("/code/scan")
    form = page.get_by_test_id("scan-form")
    form.get_by_label("Checkpoint").fill(place)
    form.get_by_label("Scanned text").fill(text)
    form.get_by_role("button", name="Check").click()


@pytest.mark.e2e
def test_a_red_code_is_genuine_but_not_admitted(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "resident with a red health code")
    text = code_text(page, "health")
    assert text.startswith("SHC1:")
    expect(page.get_by_test_id("code-status")).to_contain_text("Red")
    expect(page.get_by_test_id("explanation")).to_contain_text("Close contact of a case")
    expect(page.get_by_test_id("appeals")).to_contain_text("pending")
    expect(page.get_by_test_id("appeal-form")).to_have_count(0)  # one appeal at a time
    log_out(page)
    log_in(page, live_server, "verifier at a health checkpoint")
    scan(page, text, "Hongqiao station, exit 3")
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-valid", "true")
    expect(outcome).to_have_attribute("data-admit", "false")
    expect(outcome).to_contain_text("DO NOT ADMIT")
    expect(page.get_by_test_id("disclosed")).not_to_contain_text("310")  # no ID number shown


@pytest.mark.e2e
def test_a_code_seen_at_two_venues_is_flagged(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "resident ")
    text = code_text(page, "library")
    countdown = page.locator("#code .countdown")
    expect(countdown).to_contain_text("valid for")
    log_out(page)
    log_in(page, live_server, "verifier at the library entrance")
    scan(page, text, "Shanghai Library, east gate")
    expect(page.get_by_test_id("outcome")).to_have_attribute("data-admit", "true")
    expect(page.get_by_test_id("disclosed")).to_contain_text("first character of the name")
    # The checkpoint stays filled in for the next holder.
    page.goto("/code/scan")
    expect(page.get_by_label("Checkpoint")).to_have_value("Shanghai Library, east gate")
    scan(page, text, "Pudong Library, north gate")
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-step", "replay")
    expect(outcome).to_contain_text("POSSIBLE COPY")


@pytest.mark.e2e
def test_a_scanner_outside_the_scenario_sees_nothing(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "resident ")
    text = code_text(page, "health")
    log_out(page)
    log_in(page, live_server, "verifier at the library entrance")
    scan(page, text, "Shanghai Library, east gate")
    expect(page.get_by_test_id("form-error")).to_contain_text("may not scan Health status codes")
    expect(page.get_by_test_id("outcome")).to_have_count(0)


@pytest.mark.e2e
def test_a_jiangsu_code_is_admitted_in_shanghai(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "resident registered in Jiangsu")
    text = code_text(page, "health")
    assert text.startswith("JSC1:")
    log_out(page)
    log_in(page, live_server, "verifier at a health checkpoint")
    scan(page, text, "Pudong airport, T2 arrivals")
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-admit", "true")
    expect(outcome).to_contain_text("region JS")


@pytest.mark.e2e
def test_an_appeal_is_decided_and_the_holder_reads_why(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "resident with a yellow health code")
    page.goto("/code?scenario=health")
    expect(page.get_by_test_id("code-status")).to_contain_text("Yellow")
    form = page.get_by_test_id("appeal-form")
    form.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_test_id("appeal-error")).to_contain_text("at least 10 characters")
    page.get_by_test_id("appeal-form").get_by_label("What is wrong with this status?").fill(
        "I did not travel: the ticket was bought for my mother."
    )
    page.get_by_test_id("appeal-form").get_by_role("button", name="Send appeal").click()
    expect(page.get_by_test_id("appeal-filed")).to_be_visible()
    log_out(page)
    log_in(page, live_server, "health staff")
    page.goto("/codes/appeals")
    appeal = page.get_by_test_id("appeal").filter(has_text="ticket was bought for my mother")
    expect(appeal).to_contain_text("yellow")
    decide = appeal.get_by_test_id("decide-form")
    decide.get_by_label("Colour if upheld").select_option("green")
    decide.get_by_label("Reason (the resident reads it)").fill(
        "travel record belongs to the mother"
    )
    decide.get_by_role("button", name="Record decision").click()
    expect(page.get_by_test_id("appeal").filter(has_text="ticket was bought")).to_have_count(0)
    log_out(page)
    log_in(page, live_server, "resident with a yellow health code")
    page.goto("/code?scenario=health")
    expect(page.get_by_test_id("code-status")).to_contain_text("Green")
    expect(page.get_by_test_id("appeals")).to_contain_text("travel record belongs to the mother")


@pytest.mark.e2e
def test_statistics_show_scans_per_scenario(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "city operations operator")
    page.goto("/codes/stats")
    total = int(page.get_by_test_id("total-scans").inner_text().replace(",", ""))
    assert total > 1000
    expect(page.get_by_test_id("by-scenario")).to_contain_text("Health status")
    expect(page.get_by_test_id("by-scenario")).to_contain_text("Library entry")
    assert int(page.get_by_test_id("peak").inner_text()) >= 1

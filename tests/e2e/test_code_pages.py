"""Codes in a real browser, on the demo city: holders, gatekeepers, authorities, statistics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e import browser
from twonets.web.pages import decode_qr_image

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from e2e.conftest import LiveServer

PHONE = {"width": 390, "height": 844}
# The banner's background by what the gatekeeper does (codes.css).
BANNER_BACKGROUNDS = {
    "admit": "rgb(227, 246, 232)",
    "check": "rgb(255, 244, 214)",
    "refuse": "rgb(253, 232, 228)",
}


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
    expect(outcome).to_have_attribute("data-reason", "health_red")
    banner = page.get_by_test_id("banner")
    expect(banner).to_contain_text("DO NOT ADMIT")
    expect(banner).to_contain_text("Red health code")
    expect(banner).to_have_css("background-color", BANNER_BACKGROUNDS["refuse"])
    expect(banner.locator("svg.gate-icon")).to_be_visible()  # drawn, not a font glyph
    assert "✋" not in banner.inner_text()
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
    expect(page.get_by_test_id("banner")).to_contain_text("Possible copy")
    expect(page.get_by_test_id("banner")).to_have_css(
        "background-color", BANNER_BACKGROUNDS["check"]
    )


@pytest.mark.e2e
def test_a_scanner_outside_the_scenario_is_told_to_ask_for_the_right_code(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "resident ")
    text = code_text(page, "health")
    log_out(page)
    log_in(page, live_server, "verifier at the library entrance")
    scan(page, text, "Shanghai Library, east gate")
    banner = page.get_by_test_id("banner")
    expect(banner).to_contain_text("Wrong kind of code")
    expect(banner).to_contain_text("This gate checks Library entry codes")
    expect(banner).to_have_css("background-color", BANNER_BACKGROUNDS["check"])
    expect(banner).not_to_contain_text("sh.")
    expect(page.get_by_test_id("disclosed")).to_have_count(0)  # nothing of the holder
    expect(page.get_by_test_id("form-error")).to_have_count(0)


@pytest.mark.e2e
def test_a_jiangsu_code_is_admitted_in_shanghai(page: Page, live_server: LiveServer) -> None:
    visitor = live_server.account("resident registered in Jiangsu")
    assert visitor.username.startswith("32")  # a Jiangsu ID number
    log_in(page, live_server, "resident registered in Jiangsu")
    text = code_text(page, "health")
    assert text.startswith("JSC1:")
    log_out(page)
    log_in(page, live_server, "verifier at a health checkpoint")
    scan(page, text, "Pudong airport, T2 arrivals")
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-admit", "true")
    expect(page.get_by_test_id("banner")).to_contain_text("Issued in Jiangsu")


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
    log_in(page, live_server, "codes authority for health")
    page.locator("header.shell").get_by_role("link", name="Health appeals").click()
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


@pytest.mark.e2e
def test_the_health_planner_does_not_decide_appeals(page: Page, live_server: LiveServer) -> None:
    log_in(page, live_server, "health planner")
    expect(page.locator("header.shell").get_by_role("link", name="Health appeals")).to_have_count(0)
    response = page.goto("/codes/appeals")
    assert response is not None
    assert response.status == 403


@pytest.mark.e2e
def test_a_checkpoint_named_in_chinese(page: Page, live_server: LiveServer) -> None:
    gate = "上海图书馆 东门"
    log_in(page, live_server, "resident ")
    text = code_text(page, "library")
    log_out(page)
    log_in(page, live_server, "verifier at the library entrance")
    scan(page, text, gate)
    expect(page.get_by_test_id("outcome")).to_have_attribute("data-reason", "admit")
    expect(page.get_by_test_id("banner")).to_have_css(
        "background-color", BANNER_BACKGROUNDS["admit"]
    )
    expect(page.get_by_test_id("disclosed")).to_contain_text(gate)
    # The next holder's form opens with the checkpoint in Chinese.
    page.goto("/code/scan")
    expect(page.get_by_label("Checkpoint")).to_have_value(gate)
    # The same code again at the same gate: said, and counted once.
    scan(page, text, gate)
    expect(page.get_by_test_id("repeat")).to_contain_text("Already scanned here at")
    log_out(page)
    log_in(page, live_server, "resident ")
    page.goto("/code?scenario=library")
    rows = page.get_by_test_id("my-scans").locator("tbody tr").filter(has_text=gate)
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("admitted")


@pytest.mark.e2e
def test_a_withdrawn_code_shows_who_withdrew_it_and_why(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, live_server, "resident whose library code was withdrawn")
    page.goto("/code?scenario=library")
    notice = page.get_by_test_id("revocation")
    expect(notice).to_contain_text("Culture and Tourism Bureau")
    expect(notice).to_contain_text("used by someone else three times")
    expect(page.get_by_test_id("code-problem")).to_contain_text("withdrawn")
    expect(page.locator("#code svg.qr")).to_have_count(0)


@pytest.fixture
def phone(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A page the size of a phone (390 × 844 CSS pixels, one device pixel each)."""
    context = browser.new_context(
        base_url=live_server.base_url, locale="en-GB", viewport=PHONE, device_scale_factor=1
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        yield page
    finally:
        page.close()
        context.close()


@pytest.mark.e2e
def test_my_code_on_a_phone_is_scannable_from_the_screen(
    phone: Page, page: Page, live_server: LiveServer
) -> None:
    log_in(phone, live_server, "resident ")
    phone.goto("/code")
    qr = phone.locator("#code svg.qr")
    expect(qr).to_be_visible()
    expect(phone.get_by_test_id("scenario-health")).to_have_attribute("aria-current", "page")
    # Nothing scrolls sideways, the shell included, and the whole code is on the first screen.
    sideways = phone.evaluate(
        "(() => { const d = document.documentElement; return d.scrollWidth - d.clientWidth; })()"
    )
    assert sideways <= 0, sideways
    box = qr.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    assert box["y"] + box["height"] <= PHONE["height"], box
    assert box["width"] >= 200  # large enough for a gate's camera

    # What a gate's camera reads off the screen (the PNG, decoded as an uploaded photo is) ...
    text = decode_qr_image(phone.screenshot(type="png"))
    phone.locator("#code details summary").click()
    assert text == phone.get_by_test_id("code-text").input_value()
    assert text.startswith("SHC1:")
    # ... is a genuine code to the service: the health checkpoint's desk checks it.
    log_in(page, live_server, "verifier at a health checkpoint")
    scan(page, text, "Hongqiao station, exit 3")
    outcome = page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-valid", "true")
    expect(outcome).to_have_attribute("data-step", "ok")

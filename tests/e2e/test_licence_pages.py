"""Licences in a real browser, on the demo city: the resident's wallet, sharing, the verifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

HOTEL_FIELDS = {"name", "id_number", "photo_hash"}
PHONE = {"width": 390, "height": 844}


def log_out(page: Page) -> None:
    """Log out through the header's button."""
    page.locator("header.shell").get_by_role("button", name="Log out").click()
    expect(page.locator("form[action='/login']")).to_be_visible()


def open_licence(page: Page, live_server: LiveServer, *, type_code: str, region: str) -> None:
    """From the start page, open the wallet and one licence in it."""
    page.locator("header.shell nav").get_by_role("link", name="My licences").click()
    expect(page).to_have_url(live_server.url("/wallet"))
    page.locator(f"a.licence-card[data-type='{type_code}'][data-region='{region}']").click()
    expect(page.locator("svg.qr")).to_be_visible()


@pytest.mark.e2e
def test_a_shared_id_card_verifies_with_exactly_the_shared_fields(
    page: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    open_licence(page, live_server, type_code="ID", region="SH")

    expect(page.get_by_test_id("licence")).to_contain_text("居民身份证")
    expect(page.get_by_test_id("qr-meta")).to_contain_text("QR version")
    form = page.get_by_test_id("share-form")
    ticked = {
        box.get_attribute("value") for box in form.locator("input[name=disclose]:checked").all()
    }
    assert ticked == HOTEL_FIELDS
    nonce = form.locator("input[name=nonce]").input_value()
    audience = form.locator("input[name=audience]").input_value()
    assert nonce
    assert audience
    form.get_by_test_id("create-presentation").click()
    expect(page.get_by_test_id("device-reveals")).to_contain_text(
        "Name, ID number, Photo (SHA-256)"
    )
    presentation = page.get_by_test_id("device-presentation-text").input_value()
    assert presentation.count("~") == 4  # three disclosures and the key binding
    log_out(page)

    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.locator("header.shell nav").get_by_role("link", name="Verify a licence").click()
    verify = page.get_by_test_id("verify-form")
    verify.locator("textarea[name=credential]").fill(presentation)
    verify.locator("summary").click()
    verify.locator("input[name=audience]").fill(audience)
    verify.locator("input[name=nonce]").fill(nonce)
    verify.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("banner")).to_contain_text("VALID")
    expect(page.get_by_test_id("banner")).not_to_contain_text("NOT VALID")
    rows = page.get_by_test_id("claims").locator("tr[data-field]")
    shown = {row.get_attribute("data-field") for row in rows.all()}
    assert shown == HOTEL_FIELDS
    expect(page.get_by_test_id("not-shown")).to_contain_text("Address")


@pytest.mark.e2e
def test_a_photo_of_the_jiangsu_driving_licence_verifies_in_shanghai(
    page: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    page.goto("/wallet")
    card = page.locator("a.licence-card[data-type='DL'][data-region='JS']")
    expect(card).to_contain_text("issued in Jiangsu")
    page.locator("header.shell nav a.brand").click()
    open_licence(page, live_server, type_code="DL", region="JS")
    photo = page.locator("svg.qr").screenshot()
    log_out(page)

    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.goto("/verify")
    page.locator("input[name=image]").set_input_files(
        {"name": "licence.png", "mimeType": "image/png", "buffer": photo}
    )
    page.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("banner")).to_contain_text("VALID")
    expect(page.get_by_test_id("banner")).not_to_contain_text("NOT VALID")
    expect(page.get_by_test_id("verdict-region")).to_contain_text("JS")
    expect(page.get_by_test_id("verdict-region")).to_contain_text("Jiangsu")
    expect(page.get_by_test_id("verdict")).to_contain_text("机动车驾驶证")
    expect(page.get_by_test_id("verdict")).to_contain_text("read from the uploaded photo")


@pytest.mark.e2e
def test_a_pasted_scrap_of_text_shows_the_failing_step(page: Page, live_server: LiveServer) -> None:
    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.goto("/verify")
    page.locator("textarea[name=credential]").fill("https://example.com/pay?id=42")
    page.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("banner")).to_contain_text("NOT VALID")
    expect(page.get_by_test_id("headline")).to_have_text("Not a licence code")
    expect(page.get_by_test_id("failed-step")).to_have_text("prefix")


@pytest.mark.e2e
def test_the_holder_and_the_issuer_see_a_licences_history(
    page: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    open_licence(page, live_server, type_code="ID", region="SH")
    history = page.get_by_test_id("history")
    expect(history.locator("tr[data-action='issued']")).to_contain_text("Issued")
    expect(history).not_to_contain_text("licence.police")  # the holder is told the department
    licence_path = page.url.removeprefix(live_server.url("")).replace("/wallet/", "/licences/")
    log_out(page)

    clerk = live_server.account("staff issuing ID cards")
    log_in(page, clerk.username, clerk.password)
    page.goto("/licences/issue?type=ID")
    expect(page.get_by_test_id("issue-form")).to_be_visible()
    expect(page.locator("[name=region]")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("signed with the keys of Shanghai")
    page.goto(licence_path)
    expect(page.get_by_test_id("issued-licence")).to_contain_text("居民身份证")
    expect(page.get_by_test_id("history").get_by_test_id("actor").first).to_have_text(
        clerk.username
    )


def fits_the_screen(page: Page) -> bool:
    """Whether the page shown needs no sideways scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.e2e
def test_on_a_phone_the_wallet_fits_and_the_qr_code_on_screen_scans_and_verifies(
    page: Page, live_server: LiveServer
) -> None:
    from twonets.web.pages import decode_qr_image

    page.set_viewport_size(PHONE)
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    page.goto("/language/zh?next=/wallet")  # residents' pages speak Chinese first
    expect(page.locator("h1")).to_have_text("我的证照")
    assert fits_the_screen(page)

    page.locator("a.licence-card[data-type='ID'][data-region='SH']").click()
    qr = page.locator("svg.qr")
    expect(qr).to_be_visible()
    assert fits_the_screen(page)
    qr.scroll_into_view_if_needed()
    box = qr.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    # What a verifier's camera sees: the screen as it is, decoded from the PNG.
    scanned = decode_qr_image(page.screenshot())
    assert scanned == page.get_by_test_id("qr-text").input_value()
    page.goto("/language/en?next=/")
    log_out(page)

    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.goto("/verify")
    page.locator("textarea[name=credential]").fill(scanned)
    page.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("verdict")).to_have_attribute("data-valid", "true")
    expect(page.get_by_test_id("verdict")).to_contain_text("居民身份证")

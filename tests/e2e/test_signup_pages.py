"""Sign-up and lock-outs in a real browser: a resident on a phone, an administrator's unlock."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.browser import PHONE, fits_the_screen, log_in, submit_login
from twonets.core.sms import FileSms

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


@pytest.mark.e2e
def test_a_resident_signs_up_on_a_phone_and_logs_in(
    browser: Browser, live_server: LiveServer
) -> None:
    newcomer = live_server.account("no account yet")
    name = newcomer.description.split(" as ")[1].split(",")[0]
    assert live_server.sms_outbox is not None
    outbox = FileSms(live_server.sms_outbox)
    context = browser.new_context(base_url=live_server.base_url, viewport=PHONE, locale="en-GB")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_test_id("signup-link").click()
        expect(page).to_have_url(live_server.url("/signup"))
        fits_the_screen(page)
        page.get_by_label("ID number").fill(newcomer.username)
        page.get_by_label("Your name as registered").fill(name)
        sent_before = len(outbox.messages())
        page.get_by_role("button", name="Send me a code").click()

        expect(page.get_by_test_id("signup-answer")).to_contain_text("a code was sent")
        fits_the_screen(page)
        assert len(outbox.messages()) == sent_before + 1
        code = re.findall(r"\b\d{6}\b", outbox.messages()[-1].text)[0]
        page.get_by_label("Code from the text message").fill(code)
        page.get_by_label("Choose a password").fill(newcomer.password)
        page.get_by_role("button", name="Open my account").click()

        expect(page.get_by_test_id("login-notice")).to_contain_text("Your account is ready")
        expect(page.get_by_label("User name")).to_have_value(newcomer.username)
        fits_the_screen(page)
        page.get_by_label("Password").fill(newcomer.password)
        page.locator("form[action='/login'] button[type=submit]").click()
        expect(page.get_by_test_id("welcome")).to_contain_text(name)
    finally:
        page.close()
        context.close()


@pytest.mark.e2e
def test_an_administrator_lifts_a_lock_out(page: Page, live_server: LiveServer) -> None:
    page.goto("/login")
    for _ in range(5):
        submit_login(page, "locked.in.e2e", "not-the-password")
        expect(page.get_by_test_id("login-error")).to_be_visible()
    expect(page.get_by_test_id("login-error")).to_contain_text("Too many failed logins")

    log_in(page, "admin", "twonets-demo")
    page.locator("header.shell nav").get_by_role("link", name="Accounts").click()
    expect(page.get_by_test_id("lockouts")).to_contain_text("locked.in.e2e")
    page.get_by_role("button", name="Unlock locked.in.e2e").click()

    expect(page.get_by_test_id("accounts-notice")).to_contain_text("locked.in.e2e is unlocked")
    expect(page.get_by_role("button", name="Unlock locked.in.e2e")).to_have_count(0)

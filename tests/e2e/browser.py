"""Steps the browser tests share: logging in through the form."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def submit_login(page: Page, username: str, password: str) -> None:
    """Fill in and submit the login form of the page being shown."""
    form = page.locator("form[action='/login']")
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password").fill(password)
    form.locator("button[type=submit]").click()


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through the form and wait for the start page."""
    page.goto("/login")
    submit_login(page, username, password)
    expect(page.get_by_test_id("welcome")).to_be_visible()

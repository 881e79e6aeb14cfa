"""The NEV plate in a real browser, on the demo city: the resident applies with the fields
the platform holds already filled in, staff of the district, the transport commission and
the police complete their steps, and the plate certificate shows in the resident's wallet."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import axe_violations, log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


def log_out(page: Page) -> None:
    """Log out through the header's button."""
    page.locator("header.shell").get_by_role("button", name="Log out").click()
    expect(page.locator("form[action='/login']")).to_be_visible()


def work(page: Page, application: str, step: str, **fields: str) -> None:
    """On the workbench: claim the step of ``application`` and complete it with ``fields``."""
    page.goto("/services/tasks")
    task = (
        page.get_by_test_id("task")
        .filter(has_text=f"Application {application}")
        .filter(has_text=step)
    )
    task.get_by_test_id("claim").click()
    task = (
        page.get_by_test_id("task")
        .filter(has_text=f"Application {application}")
        .filter(has_text=step)
    )
    form = task.get_by_test_id("complete-form")
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/services/tasks$"))


@pytest.mark.e2e
def test_a_resident_applies_once_and_finds_the_plate_certificate_in_the_wallet(
    page: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    district_clerk = live_server.account("district staff")
    district = re.search(r"\d{6}", district_clerk.description)
    assert district is not None
    log_in(page, resident.username, resident.password)
    page.locator("header.shell nav").get_by_role("link", name="One-thing services").click()

    form = page.get_by_test_id("apply-form")
    expect(page.get_by_test_id("prefilled-id")).to_have_value(resident.username)
    expect(page.get_by_test_id("prefilled-name")).not_to_have_value("")
    assert axe_violations(page) == []
    form.get_by_label("District handling the application").select_option(district.group(0))
    form.get_by_label("I have a residence record in the city").check()
    form.get_by_label("Months of social insurance in the city").fill("48")
    form.get_by_label("Plates in my name").fill("0")
    form.get_by_label("I have a charging point for the vehicle").check()
    form.get_by_label("Vehicle identification number").fill("LSVAU2180N2199999")
    form.get_by_label("Vehicle model").fill("荣威 Ei5")
    form.get_by_role("button", name="Submit the application").click()
    expect(page).to_have_url(re.compile(r"/services/applications/\d+$"))
    application = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("step")).to_contain_text("Confirm the charging point")
    assert axe_violations(page) == []
    log_out(page)

    log_in(page, district_clerk.username, district_clerk.password)
    work(page, application, "Confirm the charging point", **{"Charging point number": "CP-E2E"})
    log_out(page)
    transport = live_server.account("transport staff")
    log_in(page, transport.username, transport.password)
    work(page, application, "Register the vehicle", **{"Registration number": "R-E2E"})
    assert axe_violations(page) == []
    log_out(page)
    police = live_server.account("police staff")
    log_in(page, police.username, police.password)
    work(page, application, "Allocate the plate", Plate="沪ADE2E01")
    work(page, application, "Issue the plate certificate")
    log_out(page)

    log_in(page, resident.username, resident.password)
    page.goto(f"/services/applications/{application}")
    expect(page.get_by_test_id("application-status")).to_contain_text("Completed")
    page.get_by_test_id("result-licence").get_by_role("link", name="Open my licences").click()
    expect(page.locator("a.licence-card[data-type='NP']")).to_be_visible()

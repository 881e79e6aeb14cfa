"""Retirement and tax and fees in a real browser, on the demo city.

Retirement: the resident applies with the birth date filled in from the residence register
(with consent), the employer (the enterprise's own login) confirms on the workbench, the
city's social security, Jiangsu's (answering the signed request), medical insurance and the
housing fund complete their steps, and the resident reads the pension. Tax and fees: the
enterprise files, three departments review, the enterprise pays once and reads the receipt.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import axe_violations, log_in
from e2e.test_services_pages import log_out, work

if TYPE_CHECKING:
    from e2e.conftest import LiveServer


def open_menu(page: Page, name: str) -> None:
    """Follow the header's menu entry ``name``, opening "More" when it is there."""
    menu = page.locator("header.shell nav")
    link = menu.get_by_role("link", name=name)
    if not link.is_visible():
        menu.locator("details.more summary").click()
    link.click()


def as_staff(page: Page, live_server: LiveServer, who: str) -> None:
    """Log in as the demo's first account described as ``who``."""
    account = live_server.account(who)
    log_in(page, account.username, account.password)


@pytest.mark.e2e
def test_a_resident_retires_with_one_application(page: Page, live_server: LiveServer) -> None:
    resident = live_server.account("resident")
    employer = live_server.account("enterprise")
    log_in(page, resident.username, resident.password)
    open_menu(page, "One-thing services")
    page.get_by_test_id("service-choice").get_by_role("link", name="Employee retirement").click()
    page.get_by_test_id("prefill").click()
    expect(page.get_by_test_id("prefill-note")).to_contain_text("services.retirement")
    expect(page.get_by_test_id("held-birth_date")).to_be_visible()
    form = page.get_by_test_id("apply-form")
    birth_date = form.get_by_label("Date of birth").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", birth_date), birth_date
    assert axe_violations(page) == []
    form.get_by_label("Employer's unified social credit code").fill(employer.username)
    form.get_by_label("Years of contributions in the city").fill("20")
    form.get_by_label("Years of contributions in Jiangsu").fill("8")
    form.get_by_label("Your average wage index").fill("1.2")
    form.get_by_label("Personal pension account balance (yuan)").fill("180000")
    form.get_by_role("button", name="Submit the application").click()
    expect(page).to_have_url(re.compile(r"/services/applications/\d+$"))
    application = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("origin-birth_date")).to_have_attribute("data-origin", "verified")
    expect(page.get_by_test_id("origin-contribution_years_city")).to_have_attribute(
        "data-origin", "declared"
    )
    expect(page.get_by_test_id("consent-record")).to_contain_text("services.retirement")
    expect(page.get_by_test_id("waiting-message")).to_contain_text("waiting for the employer")
    log_out(page)

    log_in(page, employer.username, employer.password)
    open_menu(page, "Service tasks")
    work(page, application, "The employer confirms", **{"Last working day": "2026-12-31"})
    log_out(page)

    as_staff(page, live_server, "social security staff")
    work(page, application, "paid in the city", **{"Years of contributions in the city": "20"})
    log_out(page)
    as_staff(page, live_server, "Jiangsu social security staff")
    page.goto("/services/tasks")
    asked = page.get_by_test_id("remote-request").filter(has_text=f"Application {application}")
    asked.get_by_label("Years of contributions in Jiangsu").fill("8")
    asked.get_by_test_id("reply").click()
    expect(page).to_have_url(re.compile(r"/services/tasks$"))
    expect(
        page.get_by_test_id("remote-request").filter(has_text=f"Application {application}")
    ).to_have_count(0)
    log_out(page)
    as_staff(page, live_server, "medical insurance staff")
    work(page, application, "Transfer the medical insurance")
    log_out(page)
    as_staff(page, live_server, "housing fund staff")
    work(page, application, "Withdraw the housing", **{"Housing fund paid out (yuan)": "52000"})
    log_out(page)

    log_in(page, resident.username, resident.password)
    page.goto(f"/services/applications/{application}")
    expect(page.get_by_test_id("application-status")).to_contain_text("Retired")
    expect(page.get_by_test_id("result-years")).to_contain_text("28")
    pension = page.get_by_test_id("result-monthly_pension").locator("td").inner_text()
    assert float(pension) > 0
    assert axe_violations(page) == []


@pytest.mark.e2e
def test_an_enterprise_files_pays_once_and_reads_the_receipt(
    page: Page, live_server: LiveServer
) -> None:
    firm = live_server.account("enterprise")
    log_in(page, firm.username, firm.password)
    open_menu(page, "One-thing services")
    form = page.get_by_test_id("apply-form")
    expect(page.get_by_test_id("prefilled-id")).to_have_value(firm.username)
    form.get_by_label("Sales this month (yuan)").fill("1000000")
    form.get_by_label("Input VAT (yuan)").fill("60000")
    form.get_by_label("Payroll this month (yuan)").fill("500000")
    assert axe_violations(page) == []
    form.get_by_role("button", name="Submit the application").click()
    expect(page).to_have_url(re.compile(r"/services/applications/\d+$"))
    filing = page.url.rsplit("/", 1)[1]
    expect(page.get_by_test_id("waiting-message")).to_have_count(3)
    log_out(page)

    # The tax bureau asks for the sales ledger; the enterprise uploads it as a file.
    as_staff(page, live_server, "tax staff")
    page.goto("/services/tasks")
    mine = page.get_by_test_id("task").filter(has_text=f"Application {filing}")
    mine.get_by_test_id("claim").click()
    mine = page.get_by_test_id("task").filter(has_text=f"Application {filing}")
    mine.get_by_text("Ask for material").click()
    asking = mine.get_by_test_id("return-form")
    asking.get_by_label("Sales ledger").check()
    asking.get_by_label("Why it is needed (the applicant reads this)").fill("销售额需核对")
    asking.get_by_role("button", name="Send back for material").click()
    log_out(page)

    log_in(page, firm.username, firm.password)
    page.goto(f"/services/applications/{filing}")
    sending = page.get_by_test_id("material-form")
    sending.get_by_test_id("file-sales_ledger").set_input_files(
        {"name": "ledger.txt", "mimeType": "application/pdf", "buffer": b"not a pdf at all"}
    )
    sending.get_by_role("button", name="Send the material").click()
    expect(page.get_by_test_id("material-error")).to_contain_text("Sales ledger")
    ledger = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    sending = page.get_by_test_id("material-form")
    sending.get_by_test_id("file-sales_ledger").set_input_files(
        {"name": "ledger.pdf", "mimeType": "application/pdf", "buffer": ledger}
    )
    sending.get_by_role("button", name="Send the material").click()
    expect(page.get_by_test_id("material-form")).to_have_count(0)
    expect(page.get_by_test_id("files-sent")).to_contain_text("ledger.pdf")
    log_out(page)

    as_staff(page, live_server, "tax staff")
    page.goto("/services/tasks")
    mine = page.get_by_test_id("task").filter(has_text=f"Application {filing}")
    link = mine.get_by_test_id("material-link")
    expect(link).to_contain_text("ledger.pdf")
    href = link.get_attribute("href")
    assert href is not None
    assert page.request.get(href).body() == ledger
    mine.get_by_test_id("complete").click()
    expect(page).to_have_url(re.compile(r"/services/tasks$"))
    log_out(page)

    for who, step in (
        ("social security staff", "Review the social insurance"),
        ("housing fund staff", "Review the housing provident fund"),
    ):
        as_staff(page, live_server, who)
        work(page, filing, step)
        log_out(page)

    log_in(page, firm.username, firm.password)
    page.goto(f"/services/applications/{filing}")
    due = float(page.get_by_test_id("amount-due").inner_text())
    # 13% of sales less input tax, and 26% + 7% of the payroll.
    assert due == pytest.approx(1_000_000 * 0.13 - 60_000 + 500_000 * (0.26 + 0.07))
    page.get_by_test_id("pay").click()
    expect(page.get_by_test_id("application-status")).to_contain_text("Paid")
    receipt = page.get_by_test_id("receipt")
    expect(receipt.get_by_test_id("result-paid_amount")).to_contain_text(f"{due:.2f}")
    expect(receipt.get_by_test_id("result-payment_transaction")).not_to_be_empty()
    expect(page.get_by_test_id("payment")).to_have_count(0)
    assert axe_violations(page) == []

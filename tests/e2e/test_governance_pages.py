"""The governance pages in a real browser, on the demo city: a resident's report, the officer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

DEMO_DPO = ("dpo", "twonets-demo")


@pytest.mark.e2e
def test_the_resident_sees_reads_by_several_departments(
    page: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)

    page.locator("header.shell nav").get_by_role("link", name="My data").click()

    expect(page).to_have_url(live_server.url("/my-data"))
    expect(page.locator("main h1")).to_have_text("Who read my data")
    departments = int(page.get_by_test_id("count-departments").inner_text())
    assert departments >= 3
    cells = page.get_by_test_id("my-reads").locator("tbody td.department small")
    named = {text.strip() for text in cells.all_inner_texts()} - {"your own request"}
    assert len(named) >= 3, named
    assert "Public Security Bureau" in named
    expect(page.get_by_test_id("my-reads").locator("a", has_text="proof").first).to_be_visible()


@pytest.mark.e2e
def test_the_resident_filters_the_report_by_department(page: Page, live_server: LiveServer) -> None:
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    page.goto("/my-data")

    form = page.get_by_test_id("my-data-filter")
    form.get_by_label("Department").select_option(label="市公安局 Public Security Bureau")
    form.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"/my-data\?department=sh\.police"))
    expect(page.get_by_test_id("filter-summary")).to_be_visible()
    cells = page.get_by_test_id("my-reads").locator("tbody td.department small")
    assert set(cells.all_inner_texts()) == {"Public Security Bureau"}


@pytest.mark.e2e
def test_the_officer_sees_the_unusual_reader_and_verifies_the_ledger(
    page: Page, live_server: LiveServer
) -> None:
    log_in(page, *DEMO_DPO)

    page.locator("header.shell nav").get_by_role("link", name="Data governance").click()

    expect(page).to_have_url(live_server.url("/governance"))
    flagged = page.get_by_test_id("unusual-reader")
    expect(flagged.first).to_contain_text("police.officer")
    expect(flagged.first).to_contain_text("Public Security Bureau")
    expect(page.get_by_test_id("reads-summary").locator("tbody tr")).not_to_have_count(0)

    page.get_by_test_id("verify-now").click()

    expect(page.get_by_test_id("verify-ok")).to_contain_text("Ledger verified")
    expect(page).to_have_url(live_server.url("/governance"))  # htmx swapped the result in


@pytest.mark.e2e
def test_the_officer_edits_a_policy_and_sees_version_2(page: Page, live_server: LiveServer) -> None:
    log_in(page, *DEMO_DPO)
    page.goto("/governance/policies")
    group = page.locator("section#purpose-housing\\.group-rental")
    row = group.get_by_test_id("policy").filter(has_text="sh.housing")
    expect(row.get_by_test_id("policy-version")).to_have_text("version 1")

    row.get_by_role("button", name="Edit").click()

    expect(page.locator("main h1")).to_have_text("Edit a grant")
    address = page.locator("tr[data-field='address']")
    address.get_by_role("combobox").select_option("partial")
    expect(address.locator("input[name='first.address']")).to_be_visible()
    address.locator("input[name='first.address']").fill("6")
    address.locator("input[name='last.address']").fill("0")
    page.get_by_label("Reason for this change").fill("the street is enough to find the flat")
    page.get_by_test_id("save-policy").click()

    expect(page).to_have_url(re.compile(r"/governance/policies\?saved=\d+"))
    expect(page.get_by_test_id("notice")).to_contain_text("Saved version 2")
    row = page.locator("tr.just-saved")
    expect(row.get_by_test_id("policy-version")).to_have_text("version 2")
    expect(row).to_contain_text("first 6 characters shown")

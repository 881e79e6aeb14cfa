"""The governance pages in a real browser, on the demo city: a resident's report, the officer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import PHONE, axe_violations, fits_the_screen, log_in

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
    proof = page.get_by_test_id("my-reads").locator("a", has_text="proof").first
    expect(proof).to_be_visible()
    # The links open with the page's own login: the proof as JSON, the copy as a file.
    href = proof.get_attribute("href")
    assert href is not None
    assert href.startswith("/my-data/proofs/")
    opened = page.request.get(live_server.url(href))
    assert opened.status == 200
    assert "entry" in opened.json()
    with page.expect_download() as download:
        page.get_by_test_id("download-copy").click()
    assert download.value.suggested_filename == "my-data.json"


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

    # The answer comes when every entry and signed head has been checked, in the request:
    # on a loaded test machine that has taken longer than an assertion's default 5 s.
    expect(page.get_by_test_id("verify-ok")).to_contain_text("Ledger verified", timeout=30_000)
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


@pytest.mark.e2e
def test_the_resident_pages_and_filters_my_data_on_a_phone(
    phone: Page, live_server: LiveServer
) -> None:
    resident = live_server.account("resident")
    log_in(phone, resident.username, resident.password)

    phone.goto("/my-data")

    expect(phone.locator("main h1")).to_have_text("Who read my data")
    fits_the_screen(phone)
    reads = phone.get_by_test_id("my-reads").locator("tbody tr")
    expect(reads).to_have_count(50)
    first = reads.first.bounding_box()
    assert first is not None
    assert first["width"] <= PHONE["width"]
    expect(reads.first.locator("td.department")).to_be_visible()
    expect(phone.get_by_test_id("page-of")).to_contain_text("Page 1 of")

    phone.get_by_test_id("next-page").click()

    expect(phone).to_have_url(re.compile(r"/my-data\?page=2"))
    expect(phone.get_by_test_id("page-of")).to_contain_text("Page 2 of")
    fits_the_screen(phone)

    form = phone.get_by_test_id("my-data-filter")
    form.get_by_label("Department").select_option(label="市公安局 Public Security Bureau")
    form.get_by_label("Purpose").select_option(label="治安案件调查 Public-security investigation")
    form.get_by_role("button", name="Filter").click()

    expect(phone).to_have_url(re.compile(r"department=sh\.police&purpose=public-security"))
    expect(phone.get_by_test_id("filter-summary")).to_contain_text("Showing")
    cells = phone.get_by_test_id("my-reads").locator("tbody td.department small")
    assert set(cells.all_inner_texts()) == {"Public Security Bureau"}
    fits_the_screen(phone)


@pytest.mark.e2e
def test_my_data_works_on_a_phone_in_chinese(chinese_phone: Page, live_server: LiveServer) -> None:
    phone = chinese_phone
    resident = live_server.account("resident")
    phone.goto("/login")
    phone.locator("input[name=username]").fill(resident.username)
    phone.locator("input[name=password]").fill(resident.password)
    phone.locator("form[action='/login'] button[type=submit]").click()
    expect(phone.get_by_test_id("welcome")).to_be_visible()

    phone.goto("/my-data")

    expect(phone.locator("main h1")).to_have_text("谁调阅了我的数据")
    fits_the_screen(phone)
    reads = phone.get_by_test_id("my-reads").locator("tbody tr")
    expect(reads).to_have_count(50)
    for row in (reads.first, reads.last):
        box = row.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    expect(phone.get_by_test_id("page-of")).to_contain_text("第 1 页")
    assert axe_violations(phone) == []

    phone.get_by_test_id("next-page").click()

    expect(phone.get_by_test_id("page-of")).to_contain_text("第 2 页")
    fits_the_screen(phone)
    form = phone.get_by_test_id("my-data-filter")
    form.get_by_label("部门").select_option(label="市公安局 Public Security Bureau")
    form.get_by_role("button", name="筛选").click()
    expect(phone).to_have_url(re.compile(r"department=sh\.police"))
    expect(phone.get_by_test_id("filter-summary")).to_contain_text("显示")
    fits_the_screen(phone)

    phone.get_by_test_id("show-copy").click()

    expect(phone.locator("main h1")).to_have_text("我的数据及其留存依据")
    expect(phone.get_by_test_id("copy-dataset").first).to_be_visible()
    fits_the_screen(phone)


@pytest.mark.e2e
def test_the_officer_opens_the_unusual_readers_reads(page: Page, live_server: LiveServer) -> None:
    log_in(page, *DEMO_DPO)
    page.goto("/governance")

    page.get_by_test_id("unusual-reader").first.get_by_test_id("open-reader").click()

    expect(page).to_have_url(re.compile(r"/governance/readers/police\.officer\?days=30"))
    expect(page.locator("main h1")).to_have_text("Reads by police.officer")
    expect(page.get_by_test_id("reader-reads").locator("tbody tr")).to_have_count(50)
    expect(page.get_by_test_id("reader-purposes")).to_contain_text("public-security.investigation")

    page.get_by_test_id("next-page").click()

    expect(page.get_by_test_id("page-of")).to_contain_text("Page 2 of")
    expect(page.get_by_test_id("reader-reads").locator("tbody tr").first).to_contain_text(
        "citizen no."
    )


@pytest.mark.e2e
def test_the_officer_reviews_the_break_glass_read(page: Page, live_server: LiveServer) -> None:
    log_in(page, *DEMO_DPO)
    page.goto("/governance")
    waiting = page.get_by_test_id("break-glass-read")
    expect(waiting).to_have_count(1)
    expect(waiting.get_by_test_id("break-glass-reason")).to_contain_text("Ruijin A&E")

    waiting.get_by_label("Review note").fill("ok")
    waiting.get_by_test_id("mark-reviewed").click()
    # The browser's own check (at least 5 characters) holds the form back first.
    expect(page).to_have_url(live_server.url("/governance"))
    waiting.get_by_label("Review note").fill("confirmed with Ruijin A&E: the patient was admitted")
    waiting.get_by_test_id("mark-reviewed").click()

    expect(page.get_by_test_id("notice")).to_contain_text("marked reviewed")
    expect(page.get_by_test_id("no-break-glass")).to_be_visible()

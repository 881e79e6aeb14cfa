"""Enterprise requests in a real browser, on the demo city: Market Regulation answers the demo
enterprise's request from its work list, and the enterprise reads the answer on its own page;
the dispatcher's queue and the figures open with their candidates and bars."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from e2e.browser import axe_violations, log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

ANSWER = "经营范围增加餐饮服务无需现场核验，已在系统中办结变更，请登录查看新执照。"


def log_out(page: Page) -> None:
    """Log out through the header's button."""
    page.locator("header.shell").get_by_role("button", name="Log out").click()
    expect(page.locator("form[action='/login']")).to_be_visible()


@pytest.mark.e2e
def test_the_department_answers_and_the_enterprise_reads_the_answer(
    page: Page, live_server: LiveServer
) -> None:
    firm = live_server.account("enterprise")
    officer = live_server.account("staff, Market Regulation")
    # The enterprise's request in dialogue with Market Regulation (demo step 81-requests-desks).
    log_in(page, firm.username, firm.password)
    page.goto("/requests")
    being_handled = page.get_by_test_id("my-requests").locator("tr", has_text="Being handled")
    link = being_handled.first.locator("a")
    href = link.get_attribute("href") or ""
    request_id = href.rsplit("/", 1)[-1]
    number = link.inner_text().strip()
    log_out(page)

    log_in(page, officer.username, officer.password)
    page.locator("header.shell nav").get_by_role("link", name="Requests to handle").click()
    work_list = page.get_by_test_id("work-list")
    expect(work_list).to_be_visible()
    assert axe_violations(page) == []
    work_list.get_by_role("link", name=number).click()
    expect(page).to_have_url(re.compile(rf"/requests/work/{request_id}$"))
    expect(page.get_by_test_id("message")).to_have_count(2)
    assert axe_violations(page) == []
    form = page.get_by_test_id("answer-form")
    # An empty answer is refused in words beside the form (htmx swaps the refusal in).
    form.locator("textarea").fill(" ")
    form.get_by_test_id("answer").click()
    expect(page.get_by_test_id("request-error")).to_contain_text("Answer")
    page.get_by_test_id("answer-form").locator("textarea").fill(ANSWER)
    page.get_by_test_id("answer-form").get_by_test_id("answer").click()
    expect(page.get_by_test_id("request-status")).to_have_text("Answered")
    expect(page.get_by_test_id("request-history")).to_contain_text(ANSWER)
    log_out(page)

    log_in(page, firm.username, firm.password)
    page.goto(f"/requests/{request_id}")
    expect(page.get_by_test_id("request-status")).to_have_text("Answered")
    expect(page.get_by_test_id("request-history")).to_contain_text(ANSWER)
    expect(page.get_by_test_id("closure")).to_be_visible()


@pytest.mark.e2e
def test_the_dispatcher_queue_and_the_figures_open_for_the_operator(
    page: Page, live_server: LiveServer
) -> None:
    operator = live_server.account("city operations operator")
    log_in(page, operator.username, operator.password)
    page.locator("header.shell nav").get_by_role("link", name="Requests to dispatch").click()
    waiting = page.get_by_test_id("waiting")
    expect(waiting.first).to_be_visible()
    expect(page.get_by_text("Every proposed department declined it").first).to_be_visible()
    unsure = waiting.filter(has_text="The classifier was not sure")
    expect(unsure.first.get_by_test_id("candidates")).to_contain_text("%")
    assert axe_violations(page) == []
    # Dispatch one to Market Regulation: it leaves the queue (htmx swaps the queue in place).
    before = waiting.count()
    number = unsure.first.locator("header strong").inner_text()
    form = unsure.first.get_by_test_id("assign-form")
    form.get_by_label("Department").select_option(label="市市场监督管理局")
    form.get_by_test_id("assign").click()
    expect(page.get_by_test_id("waiting")).to_have_count(before - 1)
    expect(page.get_by_test_id("dispatch-queue")).not_to_contain_text(number)

    page.goto("/requests/figures?days=30")
    expect(page.get_by_test_id("by-category").locator("svg")).not_to_have_count(0)
    total = int(page.get_by_test_id("total").inner_text().replace(",", ""))
    assert total > 0
    expect(page.get_by_test_id("on-time")).to_contain_text("%")
    assert axe_violations(page) == []

"""The operations centre in a real browser, on the demo city: the dashboard's map and cases,
a case page, the supervisor's desk, the field view, and a resident reporting a problem on a
phone."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, expect

from builders import tiny_png
from e2e.browser import submit_login

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

PHONE = {"width": 390, "height": 844}
PNG_1PX = tiny_png()  # a real picture: photos are decoded before they are kept


def log_in_to(page: Page, path: str, username: str, password: str) -> None:
    """Open ``path``, log in on the form it sends us to, and come back to it."""
    page.goto(path)
    submit_login(page, username, password)
    page.wait_for_url(re.compile(re.escape(path) + "$"))


@pytest.mark.e2e
def test_the_dashboard_shows_the_map_and_a_case(page: Page, live_server: LiveServer) -> None:
    operator = live_server.account("city operations operator")
    log_in_to(page, "/ops", operator.username, operator.password)

    the_map = page.get_by_test_id("ops-map")
    expect(the_map).to_have_attribute("data-districts", "loaded")
    expect(the_map).to_have_attribute("data-layer-cases", re.compile(r"^[1-9]\d*$"))
    # Districts are drawn as paths and open cases as circle markers in Leaflet's SVG layer.
    assert the_map.locator("path.leaflet-interactive").count() > 16
    expect(page.get_by_test_id("live")).to_contain_text("live")

    rows = page.get_by_test_id("case-row")
    expect(rows.first).to_be_visible()
    number = rows.first.locator("a").inner_text()
    rows.first.locator("a").click()

    expect(page.get_by_test_id("case-state")).to_be_visible()
    expect(page.locator("main")).to_contain_text(number)
    expect(page.get_by_test_id("history").locator("li").first).to_contain_text("report")


@pytest.mark.e2e
def test_filters_narrow_the_case_list(page: Page, live_server: LiveServer) -> None:
    operator = live_server.account("city operations operator")
    log_in_to(page, "/ops", operator.username, operator.password)
    expect(page.get_by_test_id("case-row").first).to_be_visible()

    with page.expect_response(
        lambda r: "/ops/fragments/cases" in r.url and "district=310101" in r.url
    ):
        page.get_by_label("District").select_option("310101")

    rows = page.get_by_test_id("case-row")
    expect(rows.first).to_be_visible()
    for text in rows.all_inner_texts():
        assert "黄浦区" in text  # the district's name, not its code
        assert "310101" not in text


@pytest.mark.e2e
def test_field_staff_see_their_tasks(page: Page, live_server: LiveServer) -> None:
    field = live_server.account("field staff, Huangpu urban management")
    log_in_to(page, "/ops/tasks", field.username, field.password)

    tasks = page.get_by_test_id("task")
    expect(tasks.first).to_be_visible()
    expect(tasks.first.get_by_role("button", name="Take it on")).to_be_visible()
    expect(tasks.first.locator("input[type=file][name=photos]")).to_be_attached()
    # Where to go: an address and a map with the spot, not coordinates.
    shown = page.get_by_test_id("task-where").filter(has_text="南京东路步行街")
    expect(shown).to_contain_text("黄浦区")
    the_map = tasks.filter(has=shown).get_by_test_id("task-map")
    expect(the_map).to_have_attribute("data-districts", "loaded")
    expect(the_map.locator("path.leaflet-interactive").first).to_be_attached()


@pytest.mark.e2e
def test_the_supervisor_verifies_a_case_from_their_page(
    page: Page, live_server: LiveServer
) -> None:
    supervisor = live_server.account("operations supervisor")
    log_in_to(page, "/ops/verification", supervisor.username, supervisor.password)

    waiting = page.get_by_test_id("to-verify").filter(has_text="福州路")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("已清除 Removed")  # what the handler reported
    number = waiting.locator("a").first.inner_text()
    waiting.get_by_label("Still there: send back to the department").check()
    waiting.get_by_role("button", name="Record verification").click()
    # Sending back needs a word for the handlers; the choice is kept.
    kept = page.get_by_test_id("to-verify").filter(has_text="福州路")
    expect(kept.get_by_role("alert")).to_contain_text("What you found: say what is still wrong")
    expect(kept.get_by_label("Still there: send back to the department")).to_be_checked()
    kept.get_by_label("Solved: verify").check()
    kept.get_by_label("What you found").fill("Adverts removed, wall clean")
    kept.get_by_role("button", name="Record verification").click()

    expect(page.get_by_test_id("verify-done")).to_contain_text(f"Case {number} verified")
    expect(page.get_by_test_id("to-verify").filter(has_text="福州路")).to_have_count(0)


@pytest.mark.e2e
def test_a_resident_reports_a_problem_with_a_photo_on_a_phone(
    browser: Browser, live_server: LiveServer
) -> None:
    resident = live_server.account("resident ")
    context = browser.new_context(
        base_url=live_server.base_url,
        locale="en-GB",
        viewport=PHONE,
        # The resident stands by the rubbish on People's Square (GPS: WGS-84).
        geolocation={"latitude": 31.2304, "longitude": 121.4737},
        permissions=["geolocation"],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in_to(page, "/ops/report", resident.username, resident.password)
        form = page.get_by_test_id("report-form")
        form.get_by_label("What kind of problem").select_option("E0102")
        form.get_by_label("Describe it").fill("垃圾袋堆在公交站旁 bags of rubbish by the bus stop")
        form.get_by_label("Address or landmark").fill("人民大道 200号")
        # A picture the city cannot keep first: the form says so in its own words.
        form.get_by_label("Photos").set_input_files(
            files=[{"name": "cat.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + b"\0" * 9}]
        )
        the_map = page.locator("#report-map")
        expect(the_map.locator("path.leaflet-interactive").first).to_be_attached()
        box = the_map.bounding_box()
        assert box is not None
        assert box["width"] <= PHONE["width"]
        form.get_by_role("button", name="Use where I am").click()
        expect(page.get_by_test_id("report-where")).to_contain_text("Place marked")
        expect(page.locator("#report-lat")).to_have_value("31.230400")
        form.get_by_role("button", name="Send the report").click()

        expect(page.get_by_test_id("report-error")).to_contain_text(
            "Photo 1 (cat.gif): is not a picture the city can keep"
        )
        expect(page.locator("main")).not_to_contain_text("photos[0]")
        form = page.get_by_test_id("report-form")
        expect(form.get_by_label("Describe it")).to_have_value(
            "垃圾袋堆在公交站旁 bags of rubbish by the bus stop"
        )
        expect(form.get_by_label("Address or landmark")).to_have_value("人民大道 200号")
        expect(page.get_by_test_id("report-where")).to_contain_text("Place marked")

        form.get_by_label("Photos").set_input_files(
            files=[{"name": "rubbish.png", "mimeType": "image/png", "buffer": PNG_1PX}]
        )
        form.get_by_role("button", name="Send the report").click()

        sent = page.get_by_test_id("report-sent")
        expect(sent).to_be_visible()
        number = page.get_by_test_id("sent-number").inner_text()
        assert re.fullmatch(r"\d{18}", number), number
        expect(sent).to_contain_text("1 photo")
        expect(sent.get_by_role("link", name="My reports")).to_be_visible()
        expect(page.get_by_test_id("my-reports")).to_contain_text(number)
        # Nothing of the page's own spills sideways on a phone.
        main = page.locator("main")
        assert main.evaluate("m => m.scrollWidth <= m.clientWidth")
        for part in (form, sent, page.get_by_test_id("my-reports")):
            box = part.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= PHONE["width"]
    finally:
        page.close()
        context.close()


def _no_sideways_scroll(page: Page) -> None:
    """The whole page, header and menu included, fits the phone's width."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("() => document.body.scrollWidth <= window.innerWidth")


@pytest.mark.e2e
def test_a_resident_reports_in_chinese_on_a_phone_without_scrolling_sideways(
    browser: Browser, live_server: LiveServer
) -> None:
    resident = live_server.account("resident ")
    context = browser.new_context(
        base_url=live_server.base_url,
        locale="zh-CN",
        viewport=PHONE,
        # Xujiahui, far from the other tests' reports (a nearby one would merge into theirs).
        geolocation={"latitude": 31.1950, "longitude": 121.4365},
        permissions=["geolocation"],
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/ops/report")
        login = page.locator("form[action='/login']")
        login.locator("input[name=username]").fill(resident.username)
        login.locator("input[name=password]").fill(resident.password)
        login.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(r"/ops/report$"))
        expect(page.locator("h1")).to_have_text("随手拍")
        _no_sideways_scroll(page)
        form = page.get_by_test_id("report-form")
        form.get_by_label("问题类型").select_option("E0102")
        form.get_by_label("问题描述").fill("公交站旁堆放垃圾袋")
        form.get_by_label("地址或标志性建筑").fill("漕溪北路 1号")
        form.get_by_label("照片").set_input_files(
            files=[{"name": "rubbish.png", "mimeType": "image/png", "buffer": PNG_1PX}]
        )
        expect(page.locator("#report-map path.leaflet-interactive").first).to_be_attached()
        form.get_by_role("button", name="使用当前位置").click()
        expect(page.get_by_test_id("report-where")).to_contain_text("已在地图上标注位置")
        form.get_by_role("button", name="提交", exact=True).click()

        sent = page.get_by_test_id("report-sent")
        expect(sent).to_be_visible()
        expect(sent).to_contain_text("您的上报已受理")
        expect(sent).to_contain_text("1 张照片")
        number = page.get_by_test_id("sent-number").inner_text()
        assert re.fullmatch(r"\d{18}", number), number
        expect(page.get_by_test_id("my-reports")).to_contain_text(number)
        expect(page.get_by_test_id("my-reports")).to_contain_text("上报")
        _no_sideways_scroll(page)
        if shots := os.environ.get("TWONETS_SCREENSHOTS"):
            page.screenshot(path=f"{shots}/report-phone-zh.png", full_page=True)
    finally:
        page.close()
        context.close()

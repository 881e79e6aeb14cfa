"""The operations pages, served: dashboard, fragments, a case's next step, tasks, reporting."""

from __future__ import annotations

import io
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_department, create_staff
from operations.cases.test_api import PNG, patrol
from operations.conftest import BUND, Login
from test_bad_files import photo_corpus
from twonets.core.db import unit_of_work
from twonets.core.models import Role

SessionFactory = sessionmaker[Session]


@pytest.fixture(autouse=True)
def _frozen(frozen_app: FastAPI) -> None:
    """Every page test runs on Monday 10:00 Shanghai."""


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/ops"},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_dashboard_shows_map_layers_cases_and_figures(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    # The API takes the bearer token, never the page cookie.
    client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator"))

    page = client.get("/ops")
    rows = client.get("/ops/fragments/cases", params={"open": "1", "district": "310101"})
    none = client.get("/ops/fragments/cases", params={"district": "310115"})
    bad = client.get("/ops/fragments/cases", params={"state": "lost"})
    table = client.get("/ops/fragments/figures", params={"by": "department"})

    assert page.status_code == 200
    assert 'id="ops-map"' in page.text
    assert 'data-url="/ops/layers/vehicles"' in page.text
    assert rows.text.count('data-testid="case-row"') == 1
    assert "E0501" in rows.text
    assert "No case matches." in none.text
    assert "state: one of reported" in bad.text
    assert "Department" in table.text


def test_residents_do_not_see_the_dashboard(client: TestClient, people: dict[str, str]) -> None:
    log_in(client, people["resident"])

    assert client.get("/ops").status_code == 403
    assert client.get("/ops/tasks").status_code == 403


def test_operator_moves_a_case_from_its_page(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    case = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()
    cid = case["id"]

    page = client.get(f"/ops/cases/{cid}")
    assert "File the case" in page.text
    rejected = client.post(f"/ops/cases/{cid}/reject", data={"note": ""})
    assert rejected.status_code == 422
    assert "say why the report is not filed" in rejected.text
    filed = client.post(f"/ops/cases/{cid}/file", data={"note": ""})
    assert filed.status_code == 200  # followed the redirect back to the case
    assert "Dispatch" in filed.text
    dispatched = client.post(f"/ops/cases/{cid}/dispatch", data={"department_code": ""})
    assert "a.310101.urban" in dispatched.text
    wrong = client.post(f"/ops/cases/{cid}/close", data={})
    assert wrong.status_code == 409
    assert "is dispatched: &#39;close&#39; needs state verified" in wrong.text


def test_field_staff_report_handling_with_a_photo(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    cid = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()["id"]
    client.post(f"/ops/cases/{cid}/file", data={})
    client.post(f"/ops/cases/{cid}/dispatch", data={})

    log_in(client, people["field"])
    tasks = client.get("/ops/tasks")
    assert tasks.text.count('data-testid="task"') == 1
    assert client.post(f"/ops/tasks/{cid}/accept").status_code == 200
    too_big = client.post(
        f"/ops/tasks/{cid}/feedback",
        data={"note": "done"},
        files=[
            (
                "photos",
                ("big.jpg", io.BytesIO(b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024)), "image/jpeg"),
            )
        ],
    )
    assert too_big.status_code == 422
    assert "Photo 1 (big.jpg): is empty or larger than 5 MB" in too_big.text
    assert "photos[0]" not in too_big.text
    # The note typed before the rejected upload is still there.
    assert ">done</textarea>" in too_big.text
    done = client.post(
        f"/ops/tasks/{cid}/feedback",
        data={"note": "cleared"},
        files=[("photos", ("after.png", io.BytesIO(PNG), "image/png"))],
    )
    assert done.status_code == 200
    assert "reported handled" in done.text
    assert 'data-testid="no-tasks"' in done.text


def test_a_resident_reports_from_the_map(client: TestClient, people: dict[str, str]) -> None:
    log_in(client, people["resident"])

    missing = client.post(
        "/ops/report", data={"category": "E0102", "description": "rubbish", "lon": "", "lat": ""}
    )
    sent = client.post(
        "/ops/report",
        data={
            "category": "E0102",
            "description": "rubbish",
            "lon": str(BUND[0]),
            "lat": str(BUND[1]),
        },
    )

    assert missing.status_code == 422
    assert "click the map" in missing.text
    assert sent.status_code == 200
    assert "暴露垃圾" in sent.text
    assert ">Reported<" in sent.text


def _handled(client: TestClient, login: Login, **changes: object) -> dict[str, object]:
    """A case reported, filed, dispatched and handled (with a note), through the API."""
    op, field = login("operator"), login("field")
    case: dict[str, object] = client.post(
        "/api/v1/ops/intake", json=patrol(**changes), headers=op
    ).json()
    cid = case["id"]
    client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=op)
    client.post(f"/api/v1/ops/cases/{cid}/dispatch", json={}, headers=op)
    handled = client.post(
        f"/api/v1/ops/cases/{cid}/feedback", data={"note": "vendor moved on"}, headers=field
    )
    assert handled.status_code == 200, handled.text
    return case


def test_the_supervisor_verifies_from_their_own_page(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    case = _handled(client, login)
    cid = case["id"]

    log_in(client, people["operator"])
    assert client.get("/ops/verification").status_code == 403
    by_operator = client.post(f"/ops/cases/{cid}/verify", data={"passed": "yes"})
    assert by_operator.status_code == 403
    assert "needs one of the roles: supervisor" in by_operator.text
    log_in(client, people["supervisor"])
    home = client.get("/").text
    desk = client.get("/ops/verification")
    no_note = client.post(f"/ops/verification/{cid}", data={"passed": "no", "note": ""})
    verified = client.post(f"/ops/verification/{cid}", data={"passed": "yes", "note": "gone"})
    case_page = client.get(f"/ops/cases/{cid}")

    assert 'href="/ops/verification"' in home
    assert 'href="/ops" ' not in home  # the operator's dashboard is not the supervisor's
    assert desk.text.count('data-testid="to-verify"') == 1
    assert str(case["number"]) in desk.text
    assert "vendor moved on" in desk.text
    assert no_note.status_code == 422
    assert "What you found: say what is still wrong, for the handlers" in no_note.text
    assert 'value="no" checked' in no_note.text  # the choice made is kept
    assert verified.status_code == 200
    assert f"Case {case['number']} verified" in verified.text
    assert 'data-testid="nothing-to-verify"' in verified.text
    assert case_page.status_code == 200
    assert ">Verified<" in case_page.text
    assert '<a href="/ops/verification">Cases to verify</a>' in case_page.text


def test_field_staff_see_an_address_and_a_map(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    op = login("operator")
    cid = client.post(
        "/api/v1/ops/intake",
        json=patrol(address="人民广场 地铁1号口 People's Square, metro exit 1"),
        headers=op,
    ).json()["id"]
    client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=op)
    client.post(f"/api/v1/ops/cases/{cid}/dispatch", json={}, headers=op)

    log_in(client, people["field"])
    tasks = client.get("/ops/tasks").text

    where = tasks[tasks.index('data-testid="task-where"') :][:300]
    assert "人民广场 地铁1号口 People&#39;s Square, metro exit 1" in where
    assert "黄浦区" in where
    assert f'data-lon="{BUND[0]}" data-lat="{BUND[1]}"' in tasks
    assert 'data-testid="task-map"' in tasks
    # No bare coordinates for people on foot.
    assert f"{BUND[1]:.5f}, {BUND[0]:.5f}" not in tasks


def test_the_case_list_names_districts(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator"))
    log_in(client, people["operator"])

    rows = client.get("/ops/fragments/cases", params={"open": "1"}).text

    assert '<span data-testid="case-district">黄浦区</span>' in rows
    assert "· 310101" not in rows


def test_the_case_page_offers_the_departments_of_the_operators_region(
    client: TestClient, people: dict[str, str], login: Login, session_factory: SessionFactory
) -> None:
    cid = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()["id"]
    client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=login("operator"))
    with unit_of_work(session_factory) as session:
        centre = create_department(session, code="js.ops", function="operations")
        centre.region_code = "JS"
        create_department(session, code="js.urban", function="urban-management").region_code = "JS"
        jiangsu = create_staff(session, roles=(Role.OPERATOR,), department=centre).username

    log_in(client, people["operator"])
    shanghai_page = client.get(f"/ops/cases/{cid}").text
    log_in(client, jiangsu)
    jiangsu_page = client.get(f"/ops/cases/{cid}").text

    assert 'value="a.310101.urban"' in shanghai_page
    assert 'value="js.urban"' not in shanghai_page
    assert 'value="js.urban"' in jiangsu_page
    assert 'value="a.310101.urban"' not in jiangsu_page


def _report(**changes: str) -> dict[str, str]:
    form = {
        "category": "E0102",
        "description": "垃圾袋堆在公交站旁 bags of rubbish by the bus stop",
        "address": "人民大道 200号",
        "lon": str(BUND[0]),
        "lat": str(BUND[1]),
    }
    form.update(changes)
    return form


def test_a_resident_reports_with_a_photo_and_gets_the_case_number(
    client: TestClient, people: dict[str, str]
) -> None:
    log_in(client, people["resident"])

    sent = client.post(
        "/ops/report",
        data=_report(),
        files=[("photos", ("rubbish.png", io.BytesIO(PNG), "image/png"))],
    )

    assert sent.status_code == 200
    assert "sent=" in str(sent.url)
    confirmation = sent.text[sent.text.index('data-testid="report-sent"') :]
    number = re.search(r'data-testid="sent-number">(\d+)<', confirmation)
    assert number is not None
    assert "1 photo" in confirmation
    assert 'href="#my-reports"' in confirmation
    mine = sent.text[sent.text.index('data-testid="my-reports"') :]
    assert number.group(1) in mine
    # Someone else's case number in the link confirms nothing.
    assert 'data-testid="report-sent"' not in client.get("/ops/report?sent=999999").text


def test_bad_report_inputs_speak_the_forms_labels_and_keep_the_text(
    client: TestClient, people: dict[str, str]
) -> None:
    log_in(client, people["resident"])
    gif = [("photos", ("cat.gif", io.BytesIO(b"GIF89a" + b"\x00" * 16), "image/gif"))]

    no_place = client.post("/ops/report", data=_report(lon="", lat=""))
    empty = client.post("/ops/report", data=_report(description="   "))
    outside = client.post("/ops/report", data=_report(lon="116.39", lat="39.91"))
    bad_photo = client.post("/ops/report", data=_report(), files=gif)
    mine = client.get("/ops/report").text

    assert no_place.status_code == 422
    assert "Place on the map: click the map where the problem is" in no_place.text
    assert empty.status_code == 422
    assert "Describe it: say in a few words what you see" in empty.text
    assert "Place on the map: that spot lies outside the city" in outside.text
    assert bad_photo.status_code == 422
    assert "Photo 1 (cat.gif): is not a picture the city can keep" in bad_photo.text
    for answer in (no_place, empty, outside, bad_photo):
        for raw in ("lon:", "photos[0]", "description:", "String should have", "WGS-84 lies"):
            assert raw not in answer.text, raw
    # What was typed comes back, after a rejected upload too.
    for answer in (no_place, outside, bad_photo):
        assert "bags of rubbish by the bus stop</textarea>" in answer.text
        assert 'value="人民大道 200号"' in answer.text
    assert f'value="{BUND[0]}"' in bad_photo.text
    assert "You have not reported anything yet." in mine


LINK = re.compile(r'(?:href|src)="(/[^"#]*)"')


def _opens(client: TestClient, page: str) -> dict[str, int]:
    """The status of every same-site link and image of a page, opened with the page's cookie."""
    return {url: client.get(url).status_code for url in sorted(set(LINK.findall(page)))}


def test_every_link_of_the_operations_pages_opens_with_the_page_session(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    op, field = login("operator"), login("field")
    cid = client.post("/api/v1/ops/intake", json=patrol(), headers=op).json()["id"]
    client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=op)
    client.post(f"/api/v1/ops/cases/{cid}/dispatch", json={}, headers=op)
    handled = client.post(
        f"/api/v1/ops/cases/{cid}/feedback",
        data={"note": "cleared"},
        files=[("photos", ("after.png", io.BytesIO(PNG), "image/png"))],
        headers=field,
    )
    assert handled.status_code == 200, handled.text

    seen: dict[str, dict[str, int]] = {}
    for who, pages in {
        "operator": ["/ops", f"/ops/cases/{cid}", "/ops/fragments/cases?open=1", "/ops/devices"],
        "supervisor": ["/ops/verification", f"/ops/cases/{cid}"],
        "field": ["/ops/tasks", f"/ops/cases/{cid}"],
        "resident": ["/ops/report"],
    }.items():
        log_in(client, people[who])
        for path in pages:
            page = client.get(path)
            assert page.status_code == 200, (who, path)
            seen[f"{who} {path}"] = _opens(client, page.text)

    photos = [url for links in seen.values() for url in links if url.startswith("/ops/photos/")]
    assert photos, "the handler's photo is shown on the case page"
    broken = {
        page: bad
        for page, links in seen.items()
        if (bad := {u: s for u, s in links.items() if s != 200})
    }
    assert broken == {}


def test_a_case_photo_is_for_those_who_may_see_the_case(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    op, field = login("operator"), login("field")
    cid = client.post("/api/v1/ops/intake", json=patrol(), headers=op).json()["id"]
    client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=op)
    client.post(f"/api/v1/ops/cases/{cid}/dispatch", json={}, headers=op)
    case = client.post(
        f"/api/v1/ops/cases/{cid}/feedback",
        data={"note": "cleared"},
        files=[("photos", ("after.png", io.BytesIO(PNG), "image/png"))],
        headers=field,
    ).json()
    photo = f"/ops/photos/{case['photos'][0]}"

    log_in(client, people["operator"])
    shown = client.get(photo)
    log_in(client, people["resident"])  # not the resident who reported it
    refused = client.get(photo)
    client.cookies.clear()
    anonymous = client.get(photo, follow_redirects=False)

    assert shown.status_code == 200
    assert shown.content == PNG
    assert refused.status_code in {403, 404}
    assert anonymous.status_code in {303, 401}


def test_the_pages_take_their_collaborators_as_dependencies(
    client: TestClient, people: dict[str, str], frozen_app: FastAPI
) -> None:
    from twonets.operations.cases import api as ops_api
    from twonets.operations.devices import api as device_api

    extra = ops_api.Layer("rentals", "Suspected group rentals", "/ops/layers/rentals", "points")
    frozen_app.dependency_overrides[ops_api.get_layers] = lambda: [extra]
    frozen_app.dependency_overrides[device_api.get_intake_status] = lambda: {
        "gateway": None,
        "mqtt": None,
    }
    try:
        log_in(client, people["operator"])
        dashboard = client.get("/ops").text
        devices = client.get("/ops/devices")
    finally:
        frozen_app.dependency_overrides.clear()

    assert 'data-url="/ops/layers/rentals"' in dashboard
    assert 'data-url="/ops/layers/cases"' not in dashboard
    assert devices.status_code == 200


def test_the_operations_pages_speak_chinese_first(
    client: TestClient, people: dict[str, str]
) -> None:
    log_in(client, people["resident"])
    chinese = client.get("/ops/report", headers={"Accept-Language": "zh-CN"}).text
    no_image = client.post(
        "/ops/report",
        data=_report(lon="", lat=""),
        headers={"Accept-Language": "zh-CN"},
    ).text
    log_in(client, people["operator"])
    dashboard = client.get("/ops", headers={"Accept-Language": "zh-CN"}).text

    assert "<h1>随手拍</h1>" in chinese
    assert "提交" in chinese
    assert "您还没有上报过问题。" in chinese
    assert "地图位置：请在地图上点击问题所在位置" in no_image
    assert "城市运行管理中心" in dashboard
    assert "Report a problem" not in chinese


@pytest.mark.parametrize(("kind", "name", "data"), photo_corpus(), ids=lambda v: str(v)[:20])
def test_a_broken_photo_of_a_report_is_named_and_nothing_is_filed(
    client: TestClient, people: dict[str, str], kind: str, name: str, data: bytes
) -> None:
    log_in(client, people["resident"])

    sent = client.post(
        "/ops/report", data=_report(), files=[("photos", (name, io.BytesIO(data), "image/png"))]
    )

    if kind == "no qr code":  # a picture without a QR code is a fine photo of a street
        assert sent.status_code == 200, sent.text[:300]
        return
    assert sent.status_code in {413, 422}, (kind, sent.status_code)
    assert f"({name})" in sent.text
    assert "You have not reported anything yet." in client.get("/ops/report").text

"""The operations API over HTTP: access per role, intake with idempotency, the loop, photos."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff, tiny_png
from operations.conftest import BUND, MONDAY_10, Login
from twonets.core.db import unit_of_work
from twonets.core.models import Role

PNG = tiny_png()


def patrol(**changes: object) -> dict[str, object]:
    """An intake body: unlicensed vending on People's Square."""
    body: dict[str, object] = {
        "source_kind": "patrol",
        "category": "E0501",
        "description": "street vendor",
        "lon": BUND[0],
        "lat": BUND[1],
        "reported_at": (MONDAY_10 - timedelta(minutes=5)).isoformat(),
    }
    body.update(changes)
    return body


def test_the_element_catalogue_is_public(client: TestClient, people: dict[str, str]) -> None:
    answer = client.get("/api/v1/ops/elements", params={"kind": "event"})

    assert answer.status_code == 200
    codes = {e["code"] for e in answer.json()}
    assert {"E0102", "E0501", "E0303"} <= codes
    assert all(code.startswith("E") for code in codes)


def test_intake_is_idempotent(client: TestClient, login: Login) -> None:
    auth = {**login("operator"), "Idempotency-Key": "patrol-7-0001"}
    first = client.post("/api/v1/ops/intake", json=patrol(), headers=auth)
    again = client.post("/api/v1/ops/intake", json=patrol(), headers=auth)
    other = client.post("/api/v1/ops/intake", json=patrol(description="x"), headers=auth)

    assert first.status_code == 201
    assert again.json()["number"] == first.json()["number"]
    assert again.json()["state"] == "reported"  # not merged into itself
    assert other.status_code == 409
    listed = client.get("/api/v1/ops/cases", headers=login("operator")).json()
    assert listed["total"] == 1


def test_bad_intake_names_the_field(client: TestClient, login: Login) -> None:
    answer = client.post(
        "/api/v1/ops/intake", json=patrol(category="E01"), headers=login("operator")
    )

    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["errors"][0]["field"] == "category"
    assert client.get("/api/v1/ops/cases", headers=login("operator")).json()["total"] == 0


def test_residents_report_and_follow_their_reports(client: TestClient, login: Login) -> None:
    body = {
        "category": "E0102",
        "description": "垃圾",
        "lon": BUND[0],
        "lat": BUND[1],
        "address": "人民大道 200号",
    }
    made = client.post("/api/v1/ops/reports", json=body, headers=login("resident"))
    mine = client.get("/api/v1/ops/reports", headers=login("resident"))

    assert made.status_code == 201
    assert made.json()["source_kind"] == "citizen"
    assert made.json()["address"] == "人民大道 200号"
    assert made.json()["district_name"] == "黄浦区"
    assert [c["number"] for c in mine.json()] == [made.json()["number"]]
    # A resident may not use the departments' intake, nor see the case list.
    assert (
        client.post("/api/v1/ops/intake", json=patrol(), headers=login("resident")).status_code
        == 403
    )
    assert client.get("/api/v1/ops/cases", headers=login("resident")).status_code == 403
    detail = client.get(f"/api/v1/ops/cases/{made.json()['id']}", headers=login("resident"))
    assert detail.status_code == 200


@pytest.mark.parametrize(
    ("who", "action", "status"),
    [
        ("field", "file", 403),
        ("staff", "file", 403),
        ("resident", "dispatch", 403),
        ("operator", "accept", 403),
        ("operator", "verify", 403),
        ("field", "verify", 403),
        ("operator", "close", 409),
    ],
)
def test_who_may_move_a_case(
    client: TestClient, login: Login, who: str, action: str, status: int
) -> None:
    case = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator")).json()

    body = {"passed": True} if action == "verify" else {}
    answer = client.post(f"/api/v1/ops/cases/{case['id']}/{action}", json=body, headers=login(who))

    assert answer.status_code == status, answer.text
    if status == 409:
        assert answer.json()["state"] == "reported"
        assert answer.json()["rule"] == "close needs state verified"


def test_the_loop_over_http_with_photos(client: TestClient, login: Login) -> None:
    op, sup, field = login("operator"), login("supervisor"), login("field")
    case = client.post("/api/v1/ops/intake", json=patrol(), headers=op).json()
    cid = case["id"]
    assert client.post(f"/api/v1/ops/cases/{cid}/file", json={}, headers=op).status_code == 200
    dispatched = client.post(f"/api/v1/ops/cases/{cid}/dispatch", json={}, headers=op).json()
    assert dispatched["department_code"] == "a.310101.urban"
    tasks = client.get("/api/v1/ops/tasks", headers=field).json()
    assert [t["id"] for t in tasks] == [cid]

    bad = client.post(
        f"/api/v1/ops/cases/{cid}/feedback",
        data={"note": "done"},
        files=[("photos", ("a.png", io.BytesIO(b"GIF89a...."), "image/png"))],
        headers=field,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0] == {
        "field": "photos[0]",
        "rule": "photo-type",
        "detail": "the content is not image/png",
    }
    handled = client.post(
        f"/api/v1/ops/cases/{cid}/feedback",
        data={"note": "vendor gone"},
        files=[("photos", ("after.png", io.BytesIO(PNG), "image/png"))],
        headers=field,
    )
    assert handled.status_code == 200, handled.text
    photo_id = handled.json()["photos"][0]
    assert client.get(f"/api/v1/ops/photos/{photo_id}", headers=op).content == PNG
    listed = client.get("/api/v1/ops/cases", headers=op).json()["cases"]
    assert next(c for c in listed if c["id"] == cid)["photos"] == [photo_id]

    waiting = client.get("/api/v1/ops/verification", headers=sup).json()
    assert [c["number"] for c in waiting] == [case["number"]]
    assert waiting[0]["district_name"] == "黄浦区"
    assert client.get("/api/v1/ops/verification", headers=op).status_code == 403
    by_operator = client.post(f"/api/v1/ops/cases/{cid}/verify", json={"passed": True}, headers=op)
    assert by_operator.status_code == 403
    failed = client.post(
        f"/api/v1/ops/cases/{cid}/verify",
        json={"passed": False, "note": "back again"},
        headers=sup,
    ).json()
    assert (failed["state"], failed["rework_count"]) == ("dispatched", 1)
    client.post(f"/api/v1/ops/cases/{cid}/feedback", data={"note": "gone now"}, headers=field)
    client.post(f"/api/v1/ops/cases/{cid}/verify", json={"passed": True}, headers=sup)
    closed = client.post(f"/api/v1/ops/cases/{cid}/close", json={}, headers=op).json()
    assert closed["state"] == "closed"
    actions = [s["action"] for s in closed["history"]]
    assert actions == [
        "report",
        "file",
        "dispatch",
        "feedback",
        "redispatch",
        "feedback",
        "verify",
        "close",
    ]
    figures = client.get("/api/v1/ops/figures", headers=op).json()
    assert figures == [
        {
            "key": "310101",
            "name": "黄浦区",
            "cases": 1,
            "closed": 1,
            "closed_on_time": 1,
            "reworked": 1,
            "overdue": 0,
            "closure_rate": 1.0,
            "on_time_rate": 1.0,
            "rework_rate": 1.0,
        }
    ]


def test_layers_are_geojson(client: TestClient, login: Login) -> None:
    op = login("operator")
    client.post("/api/v1/ops/intake", json=patrol(), headers=op)
    client.post("/api/v1/ops/intake", json=patrol(category="E0502"), headers=op)

    layers = client.get("/ops/layers", headers=op).json()
    cases = client.get("/ops/layers/cases", headers=op).json()
    heat = client.get("/ops/layers/heat", params={"resolution": 9}, headers=op).json()

    assert [layer["url"] for layer in layers] == [
        "/ops/layers/cases",
        "/ops/layers/heat",
        "/ops/layers/vehicles",
        "/ops/layers/rentals",  # added by group rentals (rentals.api.setup)
        "/ops/layers/bikes",  # added by shared bikes (bikes.api.setup)
    ]
    assert len(cases["features"]) == 2
    assert cases["features"][0]["geometry"]["coordinates"] == [BUND[0], BUND[1]]
    # Two cases on the same spot: one hexagon counting two.
    assert [f["properties"]["count"] for f in heat["features"]] == [2]
    assert heat["features"][0]["geometry"]["type"] == "Polygon"
    assert client.get("/ops/layers/cases", headers=login("resident")).status_code == 403


def test_admin_adds_a_category_and_a_holiday(
    client: TestClient, session_factory: sessionmaker[Session], login: Login
) -> None:
    with unit_of_work(session_factory) as session:
        admin = create_staff(session, roles=(Role.ADMIN,)).username
    token = client.post("/api/v1/auth/token", json={"username": admin, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = {
        "code": "E0560",
        "name": "共享单车堆积",
        "name_en": "Shared bikes piled up",
        "department_function": "urban-management",
        "limits_hours": {"normal": 8, "urgent": 4, "emergency": 2},
    }

    assert client.post("/api/v1/ops/elements", json=body, headers=headers).status_code == 201
    assert (
        client.post("/api/v1/ops/elements", json=body, headers=login("operator")).status_code == 403
    )
    day = {"day": "2026-12-01", "kind": "holiday", "name": "test holiday"}
    assert client.put("/api/v1/ops/calendar", json=day, headers=headers).status_code == 200
    assert client.get("/api/v1/ops/calendar").json() == [day]


def test_the_stream_announces_the_current_version(client: TestClient, login: Login) -> None:
    op = login("operator")
    client.post("/api/v1/ops/intake", json=patrol(), headers=op)

    with client.stream("GET", "/ops/stream", params={"once": "true"}, headers=op) as answer:
        text = "".join(answer.iter_text())

    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "event: cases\ndata: 1:" in text

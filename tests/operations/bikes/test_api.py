"""The API: importing files (problem+json naming the bad row), counts per cell and hour, 403s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import h3
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_department, create_staff
from twonets.core.db import unit_of_work
from twonets.core.models import Role

HEADER = "bike_id,operator,started_at,start_lat,start_lon,ended_at,end_lat,end_lon\n"
GOOD = (
    "B1,hello,2026-12-07T08:05:00+08:00,31.2304,121.4737,2026-12-07T08:20:00+08:00,31.24,121.48\n"
)
Login = Callable[[str], dict[str, str]]
DAY = {"since": "2026-12-07T00:00:00Z", "until": "2026-12-08T00:00:00Z"}


def upload(client: TestClient, headers: dict[str, str], text: str, name: str = "trips.csv") -> Any:
    return client.post(
        "/api/v1/ops/bikes/trips",
        headers=headers,
        files={"file": (name, text.encode(), "text/csv")},
    )


def test_operator_imports_and_staff_see_counts(client: TestClient, login: Login) -> None:
    answer = upload(client, login("operator"), HEADER + GOOD * 3)
    assert answer.status_code == 201, answer.text
    assert answer.json()["rows"] == 3
    assert answer.json()["resolution"] == 8
    seen = client.get("/api/v1/ops/bikes/cells", params=DAY, headers=login("supervisor"))
    assert seen.status_code == 200, seen.text
    rows = seen.json()
    assert sum(r["starts"] for r in rows) == sum(r["arrivals"] for r in rows) == 3
    start = next(r for r in rows if r["starts"])
    assert start["hour"].startswith("2026-12-07T00:00:00")
    assert start["imbalance"] == -1.0


def test_a_bad_row_is_problem_json_and_nothing_is_written(client: TestClient, login: Login) -> None:
    bad = GOOD.replace("31.24,", "north,")
    answer = upload(client, login("operator"), HEADER + GOOD + bad, name="april.csv")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["type"].endswith("/bike-data")
    assert (problem["file"], problem["row"], problem["column"]) == ("april.csv", 3, "end_lat")
    assert problem["detail"].startswith("april.csv, row 3, column end_lat: ")
    seen = client.get("/api/v1/ops/bikes/cells", params=DAY, headers=login("operator"))
    assert seen.json() == []


def test_other_departments_and_roles_get_403(
    client: TestClient,
    login,
    session_factory: sessionmaker[Session],
) -> None:
    with unit_of_work(session_factory) as session:
        health = create_department(session, code="a.bikes.health", function="health")
        create_staff(session, username="bikes.health.op", roles=(Role.OPERATOR,), department=health)
    token = client.post(
        "/api/v1/auth/token", json={"username": "bikes.health.op", "password": PASSWORD}
    ).json()["access_token"]
    other = {"Authorization": f"Bearer {token}"}
    assert upload(client, other, HEADER + GOOD).status_code == 403
    assert client.get("/api/v1/ops/bikes/cells", params=DAY, headers=other).status_code == 403
    # Field staff hold none of the seeing roles; staff of operations see but do not import.
    assert (
        client.get("/api/v1/ops/bikes/cells", params=DAY, headers=login("field")).status_code == 403
    )
    assert upload(client, login("staff"), HEADER + GOOD).status_code == 403
    assert upload(client, login("supervisor"), HEADER + GOOD).status_code == 403


SNAP_HEADER = "bike_id,operator,seen_at,lat,lon\n"
HOME, WORK = (31.2304, 121.4737), (31.2600, 121.5200)  # two cells some 5 km apart


def _mornings(days: int) -> str:
    """Five rides a morning from HOME to WORK on each of ``days`` days from 7 December."""
    rows = []
    for day in range(7, 7 + days):
        for n in range(5):
            rows.append(
                f"B{day}{n},hello,2026-12-{day:02d}T08:0{n}:00+08:00,{HOME[0]},{HOME[1]},"
                f"2026-12-{day:02d}T08:3{n}:00+08:00,{WORK[0]},{WORK[1]}\n"
            )
    return HEADER + "".join(rows)


def _frozen(client: TestClient, when: str) -> None:
    moment = datetime.fromisoformat(when)
    client.app.state.clock = lambda: moment  # type: ignore[attr-defined]


def test_forecast_and_plan_send_bikes_back_to_where_rides_start(
    client: TestClient, login: Login
) -> None:
    operator = login("operator")
    assert upload(client, operator, _mornings(3)).status_code == 201
    parked = SNAP_HEADER + "".join(
        f"P{n},hello,2026-12-10T01:00:00Z,{WORK[0]},{WORK[1]}\n" for n in range(12)
    )
    answer = client.post(
        "/api/v1/ops/bikes/snapshots",
        headers=operator,
        files={"file": ("parked.csv", parked.encode(), "text/csv")},
    )
    assert answer.status_code == 201, answer.text
    _frozen(client, "2026-12-10T01:30:00+00:00")  # 09:30 in Shanghai

    seen = client.get("/api/v1/ops/bikes/forecast", headers=login("supervisor"))
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["start"].startswith("2026-12-10T01:00:00")
    assert body["history_days"] == 3
    hours = sorted({c["hour"] for c in body["cells"]})
    assert len(hours) == 24
    assert hours[0].startswith("2026-12-10T01:00")
    home = h3.latlng_to_cell(*HOME, 8)
    home_demand = sum(c["demand"] for c in body["cells"] if c["cell"] == home)
    assert 2 < home_demand < 10  # about the five morning rides

    made = client.get(
        "/api/v1/ops/bikes/plan", params={"trucks": 1, "capacity": 20}, headers=login("staff")
    )
    assert made.status_code == 200, made.text
    plan = made.json()
    assert plan["supply"] == {"hello": 12}
    work = h3.latlng_to_cell(*WORK, 8)
    assert plan["moves"], plan
    assert {(m["operator"], m["from"], m["to"]) for m in plan["moves"]} == {("hello", work, home)}
    assert plan["bikes_moved"] == plan["need"]["hello"] >= 3
    assert plan["bike_metres"] == sum(m["bikes"] * m["metres"] for m in plan["moves"])


def test_a_plan_needs_a_sensible_fleet(client: TestClient, login: Login) -> None:
    answer = client.get(
        "/api/v1/ops/bikes/plan", params={"trucks": -1, "capacity": 20}, headers=login("operator")
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("trucks: ")
    answer = client.get(
        "/api/v1/ops/bikes/cells",
        params={"since": DAY["until"], "until": DAY["since"]},
        headers=login("operator"),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("until: ")


def test_forecast_and_plan_are_refused_outside_operations_and_transport(
    client: TestClient, login: Login, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        health = create_department(session, code="a.bikes.health2", function="health")
        create_staff(
            session, username="bikes.health.sv", roles=(Role.SUPERVISOR,), department=health
        )
    token = client.post(
        "/api/v1/auth/token", json={"username": "bikes.health.sv", "password": PASSWORD}
    ).json()["access_token"]
    other = {"Authorization": f"Bearer {token}"}
    fleet = {"trucks": 2, "capacity": 10}
    for headers in (other, login("field")):
        assert client.get("/api/v1/ops/bikes/forecast", headers=headers).status_code == 403
        answer = client.get("/api/v1/ops/bikes/plan", params=fleet, headers=headers)
        assert answer.status_code == 403


def test_the_operations_map_has_the_latest_hour_of_bikes(
    client: TestClient, login: Login, session_factory: sessionmaker[Session]
) -> None:
    operator = login("operator")
    assert upload(client, operator, _mornings(2)).status_code == 201
    parked = SNAP_HEADER + "".join(
        f"P{n},hello,2026-12-08T00:10:00Z,{WORK[0]},{WORK[1]}\n" for n in range(4)
    )
    client.post(
        "/api/v1/ops/bikes/snapshots",
        headers=operator,
        files={"file": ("parked.csv", parked.encode(), "text/csv")},
    )
    _frozen(client, "2026-12-08T03:00:00+00:00")  # 11:00 in Shanghai, the 8th

    listed = client.get("/ops/layers", headers=login("operator"))
    assert listed.status_code == 200, listed.text
    layers = [layer["key"] for layer in listed.json()]
    assert "bikes" in layers
    answer = client.get("/ops/layers/bikes", headers=login("supervisor"))
    assert answer.status_code == 200, answer.text
    fc = answer.json()
    # The 8th's rides start at 08:0x Shanghai (00:0x UTC): that hour is the latest counted.
    assert fc["hour"].startswith("2026-12-08T00:00:00")
    by_cell = {f["properties"]["cell"]: f["properties"] for f in fc["features"]}
    home, work = h3.latlng_to_cell(*HOME, 8), h3.latlng_to_cell(*WORK, 8)
    assert by_cell[home]["starts"] == 5
    assert by_cell[home]["supply"] == 0
    assert by_cell[home]["imbalance"] == -1.0
    assert by_cell[work]["supply"] == 4
    assert by_cell[work]["starts"] == 0
    ring = next(f for f in fc["features"] if f["properties"]["cell"] == home)["geometry"]
    assert ring["type"] == "Polygon"
    assert ring["coordinates"][0][0] == ring["coordinates"][0][-1]
    assert h3.latlng_to_cell(*reversed(ring["coordinates"][0][0]), 8) in set(h3.grid_disk(home, 1))

    with unit_of_work(session_factory) as session:
        health = create_department(session, code="a.bikes.map.health", function="health")
        create_staff(session, username="bikes.map.op", roles=(Role.OPERATOR,), department=health)
    token = client.post(
        "/api/v1/auth/token", json={"username": "bikes.map.op", "password": PASSWORD}
    ).json()["access_token"]
    refused = client.get("/ops/layers/bikes", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

"""The API: importing files (problem+json naming the bad row), counts per cell and hour, 403s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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

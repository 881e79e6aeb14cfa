"""Health over HTTP: who may call what, problem+json for bad input, the planner's page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from health.health_world import NOW, TODAY, World, enrol
from twonets.core.db import unit_of_work
from twonets.health import service


@pytest.fixture
def api(world: World, app: FastAPI, session_factory: sessionmaker[Session]) -> World:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        for _ in range(3):
            enrol(session, world, specialty="critical-care")
    return world


def _auth(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_readiness_is_for_planners_only(api: World, client: TestClient) -> None:
    planner = _auth(client, api.planner.username)
    response = client.get("/api/v1/health/readiness", headers=planner)
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["specialty"], row["reservists"], row["current"]) == ("critical-care", 3, 3)
    outsider = client.get("/api/v1/health/readiness", headers=_auth(client, api.outsider.username))
    assert outsider.status_code == 403
    assert outsider.headers["content-type"].startswith("application/problem+json")


def test_a_bad_reservist_is_a_problem_naming_the_field(api: World, client: TestClient) -> None:
    response = client.post(
        "/api/v1/health/reservists",
        json={
            "id_number": "310101198001010000",
            "name": "王",
            "licence_identifier": "x",
            "specialty": "nursing",
            "hospital_code": "ruijin",
        },
        headers=_auth(client, api.planner.username),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["field"] == "id_number"


def test_a_mobilisation_over_http_is_planned_answered_and_replanned(
    api: World, client: TestClient
) -> None:
    planner = _auth(client, api.planner.username)
    body = {
        "name": "drill",
        "demand": [
            {"centre": "Jinshan", "lon": 121.34, "lat": 30.74, "specialty": "critical-care",
             "count": 2}
        ],
        "max_share": 0.5,
    }  # fmt: skip
    created = client.post(
        "/api/v1/health/mobilisations",
        json=body,
        headers={**planner, "Idempotency-Key": "drill-1"},
    )
    assert created.status_code == 201, created.text
    again = client.post(
        "/api/v1/health/mobilisations", json=body, headers={**planner, "Idempotency-Key": "drill-1"}
    )
    assert again.json()["id"] == created.json()["id"]
    first = created.json()["assignments"][0]
    refused = client.post(
        f"/api/v1/health/assignments/{first['id']}/response",
        json={"accept": False},
        headers=planner,
    )
    assert refused.json()["status"] == "refused"
    replanned = client.post(
        f"/api/v1/health/mobilisations/{created.json()['id']}/replan", headers=planner
    )
    assert replanned.json()["newly_called"] == 1
    assert replanned.json()["totals"]["open"] == 0


def test_labs_submit_and_planners_see_the_alert(api: World, client: TestClient) -> None:
    collected = NOW - timedelta(hours=20)
    result = {
        "sample_id": "CDC-1",
        "patient_pseudonym": "p-0123456789",
        "panel": "respiratory",
        "result": "mers-cov",
        "collected_at": collected.isoformat(),
        "received_at": (collected + timedelta(hours=2)).isoformat(),
        "reported_at": (collected + timedelta(hours=12)).isoformat(),
        "district_code": "310115",
    }
    planner = _auth(client, api.planner.username)
    refused = client.post("/api/v1/health/lab-results", json=result, headers=planner)
    assert refused.status_code == 403
    submitted = client.post(
        "/api/v1/health/lab-results", json=result, headers=_auth(client, api.lab.username)
    )
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["alert"]["method"] == "notifiable"
    alerts = client.get("/api/v1/health/alerts", headers=planner).json()
    assert [a["sample_id"] for a in alerts] == ["CDC-1"]
    (lab,) = client.get("/api/v1/health/lab-turnaround", headers=planner).json()
    assert lab["median_hours"] == pytest.approx(12.0)


def test_the_projection_returns_daily_series(api: World, client: TestClient) -> None:
    response = client.post(
        "/api/v1/health/projection",
        json={"n_days": 30},
        headers=_auth(client, api.planner.username),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["peak"]["hospitalized"]["census"] > 0
    bad = client.post(
        "/api/v1/health/projection",
        json={"doubling_time": -1},
        headers=_auth(client, api.planner.username),
    )
    assert bad.status_code == 422


def test_the_planners_page_shows_every_part(
    api: World, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.record_counts(
            session,
            [
                service.DailyCount(TODAY - timedelta(days=k), "310112", "ili", 20 + (k % 3))
                for k in range(1, 60)
            ]
            + [service.DailyCount(TODAY, "310112", "ili", 90)],
        )
        service.detect(session, today=TODAY, window=1, farrington=False, now=NOW)
    client.cookies.set("twonets_token", _auth(client, api.planner.username)["Authorization"][7:])
    page = client.get("/health?c_peak_share=0.5")
    assert page.status_code == 200
    html = page.text
    for testid in ("readiness", "projection-chart", "centres-map", "alarm-map", "series-chart"):
        assert f'data-testid="{testid}"' in html, testid
    assert "ili in Minhang" in html
    assert "<polyline" in html
    client.cookies.clear()
    assert client.get("/health", follow_redirects=False).status_code in (302, 303, 401)


def test_the_legend_calls_a_still_rising_curve_no_peak(api: World, client: TestClient) -> None:
    client.cookies.set("twonets_token", _auth(client, api.planner.username)["Authorization"][7:])
    legend = _legend(client.get("/health?n_days=20").text)
    assert "Hospital beds: highest in the window 24 on day 20, still rising" in legend
    assert "peak" not in legend.replace('data-testid="peak-', "")

    legend = _legend(client.get("/health").text)
    assert "Hospital beds: peak 417 on day 92" in legend


def _legend(html: str) -> str:
    start = html.index('<figcaption class="legend">')
    return html[start : html.index("</figcaption>", start)]

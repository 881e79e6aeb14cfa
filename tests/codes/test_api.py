"""The code API over HTTP: holders, scanners, health staff, administrators, problems."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from builders import PASSWORD
from codes.world import T, World
from twonets.codes.models import ScanRecord


@pytest.fixture
def api(world: World, app: FastAPI, client: TestClient) -> TestClient:
    # The app's code context holds the test regions' secret.
    app.state.coding = world.ctx
    return client


def _auth(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _code(api: TestClient, who: str, scenario: str = "library") -> str:
    response = api.post("/api/v1/codes/mine", json={"scenario": scenario}, headers=_auth(api, who))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_seconds"] == 60
    return str(body["text"])


def test_scenarios_are_public(api: TestClient) -> None:
    scenarios = {s["code"]: s for s in api.get("/api/v1/codes/scenarios").json()}
    assert set(scenarios) == {
        "health",
        "library",
        "education",
        "elderly-care",
        "sports",
        "resume",
        "identity",
    }
    assert scenarios["resume"]["holder_kinds"] == ["enterprise"]


def test_a_holder_s_code_is_scanned_and_the_holder_sees_it(api: TestClient, world: World) -> None:
    text = _code(api, world.resident.username)
    library = _auth(api, world.library.username)
    scanned = api.post(
        "/api/v1/codes/scans", json={"code": text, "place": "east gate"}, headers=library
    )
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["admit"] is True
    assert scanned.json()["disclosed"] == {"status": "valid", "name_initial": "王"}
    mine = api.get("/api/v1/codes/mine/scans", headers=_auth(api, world.resident.username)).json()
    assert [m["place"] for m in mine] == ["east gate"]


def test_bad_scans_are_problems_naming_the_field(api: TestClient, world: World) -> None:
    library = _auth(api, world.library.username)
    response = api.post(
        "/api/v1/codes/scans", json={"code": "SHC1:AB", "place": ""}, headers=library
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("place", "required")]


def test_a_scanner_outside_the_scenario_is_refused(api: TestClient, world: World) -> None:
    text = _code(api, world.resident.username, "health")
    response = api.post(
        "/api/v1/codes/scans",
        json={"code": text, "place": "gate"},
        headers=_auth(api, world.library.username),
    )
    assert response.status_code == 403
    assert "may not scan" in response.json()["detail"]


def test_a_retried_scan_is_recorded_once(api: TestClient, world: World) -> None:
    text = _code(api, world.resident.username)
    headers = {**_auth(api, world.library.username), "Idempotency-Key": "scan-0001"}
    body = {"code": text, "place": "east gate"}
    first = api.post("/api/v1/codes/scans", json=body, headers=headers).json()
    second = api.post("/api/v1/codes/scans", json=body, headers=headers).json()
    assert first["scan_id"] == second["scan_id"]
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(ScanRecord)) == 1


def test_health_staff_report_and_the_authority_decides_appeals(
    api: TestClient, world: World
) -> None:
    staff = _auth(api, world.health_staff.username)
    authority = _auth(api, world.health_authority.username)
    resident = _auth(api, world.resident.username)
    reported = api.post(
        "/api/v1/codes/health-facts",
        json={
            "id_number": world.resident_id_number,
            "kind": "contact",
            "value": "close",
            "observed_at": (T - timedelta(days=1)).isoformat(),
        },
        headers=staff,
    )
    assert reported.status_code == 201, reported.text
    health = api.get("/api/v1/codes/mine/health", headers=resident).json()
    assert health["colour"] == "red"
    assert health["automated"] is True
    filed = api.post(
        "/api/v1/codes/mine/appeals",
        json={"statement": "I was not at that place on that day."},
        headers=resident,
    )
    assert filed.status_code == 201, filed.text
    queue = api.get("/api/v1/codes/appeals", headers=authority).json()
    assert [(row["id"], row["subject_id"]) for row in queue] == [
        (filed.json()["id"], world.resident.citizen_id)
    ]
    refused = api.get("/api/v1/codes/appeals", headers=_auth(api, world.library.username))
    assert refused.status_code == 403
    bad = api.post(
        f"/api/v1/codes/appeals/{filed.json()['id']}/decision",
        json={"uphold": True, "reason": "checked"},
        headers=authority,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "colour"
    decided = api.post(
        f"/api/v1/codes/appeals/{filed.json()['id']}/decision",
        json={"uphold": False, "reason": "the contact is confirmed by two sources"},
        headers=authority,
    )
    assert decided.status_code == 200, decided.text
    health = api.get("/api/v1/codes/mine/health", headers=resident).json()
    assert health["colour"] == "red"
    assert health["appeals"][0]["decision"] == "the contact is confirmed by two sources"


def test_only_admins_change_scenarios(api: TestClient, world: World) -> None:
    body = {
        "name": "体育场馆",
        "name_en": "Sports venue",
        "holder_kinds": ["citizen"],
        "disclosed": ["status"],
        "verifiers": ["sh.education"],
        "purpose_code": "codes.health-appeal",
        "retention_days": 14,
        "authority": "culture",
    }
    denied = api.put(
        "/api/v1/codes/scenarios/sports", json=body, headers=_auth(api, world.library.username)
    )
    assert denied.status_code == 403
    done = api.put(
        "/api/v1/codes/scenarios/sports", json=body, headers=_auth(api, world.admin.username)
    )
    assert done.status_code == 200, done.text
    assert done.json()["verifiers"] == ["sh.education"]


def test_statistics_for_staff(api: TestClient, world: World) -> None:
    text = _code(api, world.resident.username)
    api.post(
        "/api/v1/codes/scans",
        json={"code": text, "place": "east gate"},
        headers=_auth(api, world.library.username),
    )
    stats = api.get("/api/v1/codes/stats", headers=_auth(api, world.health_staff.username)).json()
    assert stats["scans"] == 1
    assert stats["unique_holders"] == 1
    assert stats["peak_per_minute"] == 1
    assert (
        api.get("/api/v1/codes/stats", headers=_auth(api, world.resident.username)).status_code
        == 403
    )

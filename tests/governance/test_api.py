"""Governance over HTTP: problem+json for missing grants, the officer's routes, reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_department, create_staff
from scan_world import World, build_world, scan_tables
from twonets.core.db import unit_of_work
from twonets.core.models import Role
from twonets.governance.models import PendingAccess


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session], app: FastAPI) -> Iterator[World]:
    with scan_tables(engine):
        world = build_world(session_factory)
        app.state.governance = world.gov
        app.state.clock = lambda: NOW
        with unit_of_work(session_factory) as session:
            platform = create_department(session, code="platform", function="platform")
            create_staff(session, username="dpo", roles=(Role.DPO,), department=platform)
        yield world


def _auth(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _read(client: TestClient, username: str, purpose: str, **extra: object) -> object:
    return client.post(
        "/api/v1/governance/read",
        json={"purpose": purpose, "dataset": "health.scan", **extra},
        headers=_auth(client, username),
    )


def test_missing_grant_is_a_403_problem_naming_the_grant(world: World, client: TestClient) -> None:
    response = _read(client, "inspector", "epidemic.tracing")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["detail"] == (
        "no grant: sh.housing holds no policy for purpose epidemic.tracing on dataset health.scan"
    )
    assert body["missing_grant"]["purpose"] == "epidemic.tracing"


def test_reads_over_http_are_masked_and_reach_the_citizens_report(
    world: World, client: TestClient
) -> None:
    health = _read(client, "tracer", "epidemic.tracing", limit=3)
    police = _read(client, "officer", "public-security.investigation", limit=3)
    assert health.status_code == 200, health.text  # type: ignore[attr-defined]
    assert police.json()["fields"] == ["name", "district_code"]  # type: ignore[attr-defined]
    assert police.json()["masks"]["name"] == "partial:1:0"  # type: ignore[attr-defined]
    report = client.get("/api/v1/me/reads", headers=_auth(client, world.citizen_usernames[0]))
    assert report.status_code == 200
    assert {(r["department_code"], r["purpose_code"]) for r in report.json()} == {
        ("sh.health", "epidemic.tracing"),
        ("sh.police", "public-security.investigation"),
    }


def test_only_officers_change_policies_and_see_the_overview(
    world: World, client: TestClient
) -> None:
    policy = {
        "grantee_kind": "function",
        "grantee": "housing",
        "purpose_code": "epidemic.tracing",
        "dataset": "health.scan",
        "fields": {"district_code": "keep", "name": "partial:1:0"},
        "reason": "help with group rentals during the epidemic",
    }
    denied = client.post(
        "/api/v1/governance/policies", json=policy, headers=_auth(client, "tracer")
    )
    assert denied.status_code == 403
    made = client.post("/api/v1/governance/policies", json=policy, headers=_auth(client, "dpo"))
    assert made.status_code == 201, made.text
    assert made.json()["version"] == 1
    assert _read(client, "inspector", "epidemic.tracing").status_code == 200  # type: ignore[attr-defined]
    bad = client.post(
        "/api/v1/governance/policies",
        json={**policy, "fields": {"name": "blur"}},
        headers=_auth(client, "dpo"),
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "fields.name"
    summary = client.get("/api/v1/governance/reads/summary", headers=_auth(client, "dpo"))
    assert summary.status_code == 200
    changes = client.get("/api/v1/governance/changes", headers=_auth(client, "dpo")).json()
    assert changes[0]["action"] == "policy.set"


def test_ending_a_purpose_over_http_stops_the_police(world: World, client: TestClient) -> None:
    assert _read(client, "officer", "epidemic.tracing").status_code == 200  # type: ignore[attr-defined]
    ended = client.patch(
        "/api/v1/governance/purposes/epidemic.tracing",
        json={"end_now": True, "reason": "the epidemic is over"},
        headers=_auth(client, "dpo"),
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["state"] == "expired"
    after = _read(client, "officer", "epidemic.tracing")
    assert after.status_code == 403  # type: ignore[attr-defined]
    assert "expired" in after.json()["detail"]  # type: ignore[attr-defined]


def test_proofs_go_to_the_subject_and_officers_only(
    world: World, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _read(client, "tracer", "epidemic.tracing", limit=100)
    sequenced = client.post("/api/v1/ledger/sequence", headers=_auth(client, "dpo"))
    assert sequenced.json()["sequenced"] == 3
    head = client.get("/api/v1/ledger/tree-head").json()
    assert head["tree_size"] == 3
    mine = client.get("/api/v1/me/reads", headers=_auth(client, world.citizen_usernames[1])).json()
    seq = mine[0]["seq"]
    own = client.get(
        f"/api/v1/ledger/proofs/inclusion?seq={seq}",
        headers=_auth(client, world.citizen_usernames[1]),
    )
    assert own.status_code == 200
    assert own.json()["entry"]["subject_id"] == world.citizens[1]
    other = client.get(
        f"/api/v1/ledger/proofs/inclusion?seq={seq}",
        headers=_auth(client, world.citizen_usernames[0]),
    )
    assert other.status_code == 403
    assert client.get("/api/v1/ledger/public-key").text.startswith("-----BEGIN PUBLIC KEY-----")
    with session_factory() as session:
        assert session.scalars(select(PendingAccess)).all() == []


def test_export_over_http_carries_the_watermark(world: World, client: TestClient) -> None:
    response = client.post(
        "/api/v1/governance/export",
        json={"purpose": "epidemic.tracing", "dataset": "health.scan", "limit": 1000},
        headers=_auth(client, "tracer"),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "exported by tracer" in response.headers["x-watermark"]
    assert response.text.count("\n") == 2 + 9


def test_the_catalogue_lists_classes(world: World, client: TestClient) -> None:
    listed = client.get("/api/v1/governance/datasets", headers=_auth(client, "dpo")).json()
    citizen = next(d for d in listed if d["name"] == "core.citizen")
    classes = {f["name"]: (f["data_class"], f["sealed"]) for f in citizen["fields"]}
    assert classes["home_lon"] == ("sensitive", True)
    assert classes["name"] == ("personal", False)
    assert classes["district_code"] == ("public", False)


def test_retention_over_http(world: World, client: TestClient) -> None:
    first = client.post("/api/v1/governance/retention/run", headers=_auth(client, "dpo")).json()
    by = {o["dataset"]: o for o in first}
    assert by["health.scan"]["affected"] == 3  # the 40-day-old scans of 3 residents
    assert by["health.visit"]["action"] == "anonymise"
    again = client.post("/api/v1/governance/retention/run", headers=_auth(client, "dpo")).json()
    assert all(o["affected"] == 0 for o in again)
    assert NOW - timedelta(days=28) < NOW


def test_a_purpose_over_http_is_judged_by_the_service_rules(
    world: World, client: TestClient
) -> None:
    purpose = {
        "code": "Flood Relief",
        "name": "x" * 129,
        "legal_basis": "statutory-duty",
        "owner_department_code": "sh.health",
        "valid_from": NOW.isoformat(),
        "retention_days": 40_000,
    }
    response = client.post(
        "/api/v1/governance/purposes", json=purpose, headers=_auth(client, "dpo")
    )
    assert response.status_code == 422
    problems = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert problems == {("code", "pattern"), ("name", "length"), ("retention_days", "range")}
    assert response.json()["detail"].startswith("code: use lower-case words joined by dots")

"""Break-glass reads: who may break the glass, what it returns, its record and its review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_department, create_staff
from scan_world import World, build_world, scan_tables
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, Forbidden, Invalid
from twonets.core.models import Department, Role
from twonets.governance import break_glass, ledger, reports, service
from twonets.governance.models import BreakGlassRead, LedgerEntry, PendingAccess

REASON = "unconscious patient at Ruijin A&E; the family must be called now"


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _staff(
    session_factory: sessionmaker[Session], username: str, department: str, *roles: Role
) -> Principal:
    with unit_of_work(session_factory) as session:
        found = session.scalar(select(Department).where(Department.code == department))
        if found is None:
            found = create_department(session, code=department, function="platform")
        return principal_of(
            create_staff(session, username=username, roles=roles or (Role.STAFF,), department=found)
        )


def _officer(session_factory: sessionmaker[Session]) -> Principal:
    return _staff(session_factory, "the.dpo", "platform", Role.DPO)


def _break(
    factory: sessionmaker[Session], world: World, who: Principal, **changes: Any
) -> break_glass.BreakGlassResult:
    values: dict[str, Any] = {
        "purpose": "public-security.investigation",
        "dataset": "health.scan",
        "subject_ids": [world.citizens[1]],
        "fields": ["name", "phone"],
        "reason": REASON,
        "now": NOW,
    }
    with unit_of_work(factory) as session:
        return break_glass.break_glass_read(session, world.gov, who, **{**values, **changes})


def test_a_break_glass_read_returns_the_fields_named_and_is_recorded_and_flagged(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # The police's policy grants the name masked and no phone; the glass gives both in full.
    result = _break(session_factory, world, world.police)

    assert result.fields == ["name", "phone"]
    assert result.masks == {"name": "keep", "phone": "keep"}
    assert {(r["name"], r["phone"]) for r in result.rows} == {("李四", "13800000001")}
    with session_factory() as session:
        pending = session.scalars(select(PendingAccess)).all()
        assert [(p.kind, p.subject_ids, p.actor) for p in pending] == [
            ("break-glass", [world.citizens[1]], "officer")
        ]
        record = session.scalars(select(BreakGlassRead)).one()
        assert record.id == result.id
        assert record.reason == REASON
        assert record.request_id == result.request_id
        assert record.reviewed_at is None
        listed = break_glass.list_break_glass(session, pending_only=True)
        assert [r.id for r in listed] == [result.id]
        assert break_glass.count_unreviewed(session) == 1
    with unit_of_work(session_factory) as session:
        ledger.sequence_pending(session, world.gov.signer, now=NOW)
    with session_factory() as session:
        entry = session.scalars(select(LedgerEntry)).one()
        assert entry.kind == "break-glass"  # in the leaf hash: the flag cannot be dropped
        seen = reports.reads_of_subject(
            session, subject_kind="citizen", subject_id=world.citizens[1]
        )
    assert [(r["kind"], r["department_code"]) for r in seen] == [("break-glass", "sh.police")]


def test_sensitive_fields_stay_as_the_policy_grants_them(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden) as caught:
        _break(session_factory, world, world.police, fields=["name", "place"])
    assert caught.value.extra["rule"] == "break-glass-sensitive"
    assert caught.value.extra["refused_fields"] == ["place"]
    # Health's policy grants the (sealed) place: the glass opens it as the policy says.
    result = _break(
        session_factory, world, world.health, purpose="epidemic.tracing", fields=["place"]
    )
    assert all(r["place"].startswith("人民广场 gate") for r in result.rows)
    with session_factory() as session:
        assert len(session.scalars(select(BreakGlassRead)).all()) == 1


@pytest.mark.parametrize("reason", ["", "   ", "urgent", "x" * 2001])
def test_a_break_glass_read_needs_a_meaningful_reason(
    world: World, session_factory: sessionmaker[Session], reason: str
) -> None:
    with pytest.raises(Invalid) as caught:
        _break(session_factory, world, world.police, reason=reason)
    assert [(e.field, e.rule) for e in caught.value.errors] == [("reason", "length")]
    with session_factory() as session:
        assert session.scalars(select(PendingAccess)).all() == []
        assert session.scalars(select(BreakGlassRead)).all() == []


def test_a_break_glass_read_names_a_few_subjects(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    for subjects in ([], list(range(1, 7))):
        with pytest.raises(Invalid) as caught:
            _break(session_factory, world, world.police, subject_ids=subjects)
        assert caught.value.errors[0].field == "subject_ids"
    with pytest.raises(Invalid) as unknown:
        _break(session_factory, world, world.police, fields=["nickname"])
    assert unknown.value.errors[0].rule == "field-exists"


@pytest.mark.parametrize("role", [Role.DPO, Role.ADMIN])
def test_the_officer_and_the_administrator_never_break_the_glass(
    world: World, session_factory: sessionmaker[Session], role: Role
) -> None:
    # A member of the police (which holds the purpose) who holds the role (an officer holds
    # no other role; an administrator may also be staff).
    roles = (role,) if role is Role.DPO else (Role.STAFF, role)
    reader = _staff(session_factory, f"police.{role.value}", "sh.police", *roles)
    with pytest.raises(Forbidden) as caught:
        _break(session_factory, world, reader)
    assert caught.value.extra["rule"] == "separation-of-duties"


def test_only_staff_working_under_the_purpose_break_the_glass(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # Housing holds no policy for public-security investigations.
    with pytest.raises(Forbidden) as caught:
        _break(session_factory, world, world.housing)
    assert caught.value.extra["rule"] == "break-glass-holds-purpose"
    assert "sh.housing holds no policy for purpose public-security.investigation" in (
        caught.value.detail
    )


def test_an_ended_purpose_opens_no_glass(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        service.change_purpose(
            session,
            actor="dpo",
            code="epidemic.tracing",
            end_now=True,
            reason="the epidemic is over",
            now=NOW - timedelta(minutes=1),
        )
    with pytest.raises(Forbidden, match="expired"):
        _break(session_factory, world, world.health, purpose="epidemic.tracing")


def test_the_officer_reviews_each_read_once_with_a_note(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    done = _break(session_factory, world, world.police)
    officer = _officer(session_factory)
    admin = _staff(session_factory, "the.admin", "platform", Role.ADMIN)

    def review(who: Principal, note: str) -> BreakGlassRead:
        with unit_of_work(session_factory) as session:
            return break_glass.review_break_glass(
                session, who, read_id=done.id, note=note, now=NOW + timedelta(hours=1)
            )

    with pytest.raises(Forbidden):
        review(admin, "looks fine to me")
    with pytest.raises(Forbidden):
        review(world.police, "I checked myself")
    with pytest.raises(Invalid) as caught:
        review(officer, " ok ")
    assert [(e.field, e.rule) for e in caught.value.errors] == [("note", "length")]

    reviewed = review(officer, "checked with the hospital: justified")

    assert reviewed.reviewed_by == "the.dpo"
    assert reviewed.review_note == "checked with the hospital: justified"
    with pytest.raises(Conflict, match=r"already reviewed by the\.dpo"):
        review(officer, "again")
    with session_factory() as session:
        assert break_glass.list_break_glass(session, pending_only=True) == []
        assert [r.id for r in break_glass.list_break_glass(session)] == [done.id]
        changes = [(c.action, c.actor, c.reason) for c in service.list_changes(session)]
    assert changes[0] == (
        "break-glass.reviewed",
        "the.dpo",
        "checked with the hospital: justified",
    )


# --- over HTTP ----------------------------------------------------------------------------------


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_break_glass_over_http_is_read_listed_and_reviewed(
    app: FastAPI, world: World, client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    app.state.governance = world.gov
    app.state.clock = lambda: NOW
    _officer(session_factory)
    body = {
        "purpose": "public-security.investigation",
        "dataset": "health.scan",
        "subject_ids": [world.citizens[0]],
        "fields": ["phone"],
        "reason": REASON,
    }

    made = client.post(
        "/api/v1/governance/break-glass", json=body, headers=_token(client, "officer")
    )

    assert made.status_code == 201, made.text
    assert {r["phone"] for r in made.json()["rows"]} == {"13800000000"}
    refused = client.post(
        "/api/v1/governance/break-glass",
        json={**body, "reason": ""},
        headers=_token(client, "officer"),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"
    by_officer = client.post(
        "/api/v1/governance/break-glass", json=body, headers=_token(client, "the.dpo")
    )
    assert by_officer.status_code == 403
    assert by_officer.json()["rule"] == "separation-of-duties"
    assert (
        client.get("/api/v1/governance/break-glass", headers=_token(client, "officer")).status_code
        == 403
    )
    listed = client.get(
        "/api/v1/governance/break-glass?pending=true", headers=_token(client, "the.dpo")
    ).json()
    assert [(r["actor"], r["reason"], r["reviewed_at"]) for r in listed] == [
        ("officer", REASON, None)
    ]
    reviewed = client.post(
        f"/api/v1/governance/break-glass/{listed[0]['id']}/review",
        json={"note": "court order seen afterwards"},
        headers=_token(client, "the.dpo"),
    )
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["reviewed_by"] == "the.dpo"
    assert (
        client.get(
            "/api/v1/governance/break-glass?pending=true", headers=_token(client, "the.dpo")
        ).json()
        == []
    )

"""Authority at the door: no oracle through masked fields, and separation of duties."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_department, create_staff
from scan_world import World, build_world, scan_tables
from twonets.core.auth import Principal, principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.core.models import Department, Role
from twonets.governance import service
from twonets.governance.models import GranteeKind, PendingAccess
from twonets.governance.service import ReadQuery, read


@pytest.fixture
def world(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[World]:
    with scan_tables(engine):
        yield build_world(session_factory)


def _member_of_health(
    session_factory: sessionmaker[Session], username: str, *roles: Role
) -> Principal:
    """An account of the health department (whose function holds a grant) with ``roles``."""
    with unit_of_work(session_factory) as session:
        health = session.scalar(select(Department).where(Department.code == "sh.health"))
        assert health is not None
        return principal_of(
            create_staff(session, username=username, roles=roles, department=health)
        )


def _pending(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return len(session.scalars(select(PendingAccess)).all())


# --- filters on masked fields -------------------------------------------------------------------


def test_a_masked_field_cannot_be_tested_for_a_full_value(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # The police see the phone as 138****0000 for epidemic tracing; testing a full number
    # against it would tell them whose number it is.
    with pytest.raises(Forbidden) as caught, unit_of_work(session_factory) as session:
        read(
            session,
            world.gov,
            world.police,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(where={"phone": "13800000001"}),
            now=NOW,
        )
    refused = caught.value
    assert "grants phone only masked" in refused.detail
    assert [(e.field, e.rule) for e in refused.errors] == [("where.phone", "granted-in-full")]
    assert refused.extra["rule"] == "filter-on-fields-granted-in-full"
    assert _pending(session_factory) == 0  # nothing was read, nothing recorded


def test_a_pseudonymised_field_cannot_be_filtered_either(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(Forbidden) as caught, unit_of_work(session_factory) as session:
        read(
            session,
            world.gov,
            world.district_ops,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(where={"name": "张三"}),
            now=NOW,
        )
    assert caught.value.errors[0].rule == "granted-in-full"


def test_a_field_granted_in_full_can_still_be_filtered(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        found = read(
            session,
            world.gov,
            world.police,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(where={"name": "李四"}),
            now=NOW,
        )
    assert {r["subject_id"] for r in found.rows} == {world.citizens[1]}
    assert {r["phone"] for r in found.rows} == {"138****0001"}


# --- separation of duties -----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DPO, Role.ADMIN])
def test_an_officer_or_administrator_reads_no_personal_data(
    world: World, session_factory: sessionmaker[Session], role: Role
) -> None:
    # Their department holds a grant: only the role stands in the way. (An officer holds no
    # other role at all, which the accounts refuse; an administrator may also be staff.)
    roles = (role,) if role is Role.DPO else (Role.STAFF, role)
    reader = _member_of_health(session_factory, f"health.{role.value}", *roles)
    with pytest.raises(Forbidden) as caught, unit_of_work(session_factory) as session:
        read(session, world.gov, reader, purpose="epidemic.tracing", dataset="health.scan", now=NOW)
    assert caught.value.detail.startswith("separation of duties:")
    assert caught.value.extra["rule"] == "separation-of-duties"
    assert caught.value.extra["roles"] == [role.value]
    with pytest.raises(Forbidden, match="separation of duties"), session_factory() as session:
        service.export(
            session,
            world.gov,
            reader,
            purpose="epidemic.tracing",
            dataset="health.scan",
            query=ReadQuery(limit=10),
            now=NOW,
        )
    assert _pending(session_factory) == 0


@pytest.mark.parametrize("role", ["dpo", "admin"])
def test_no_policy_grants_the_roles_that_grant_or_administer(
    world: World, session_factory: sessionmaker[Session], role: str
) -> None:
    with pytest.raises(Invalid) as caught, unit_of_work(session_factory) as session:
        service.set_policy(
            session,
            world.gov.catalogue,
            actor="dpo",
            grantee_kind=GranteeKind.ROLE,
            grantee=role,
            purpose_code="epidemic.tracing",
            dataset="health.scan",
            fields={"name": "keep"},
            reason="so that the officer can look",
            now=NOW,
        )
    assert [(e.field, e.rule) for e in caught.value.errors] == [("grantee", "separation-of-duties")]


def test_the_roles_offered_for_a_grant_leave_out_those_that_grant_or_administer() -> None:
    offered = {role.value for role in service.grantable_roles()}

    assert "dpo" not in offered
    assert "admin" not in offered
    assert {"staff", "health_planner", "operator"} <= offered


def test_a_grant_to_an_ordinary_role_is_still_possible(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        policy = service.set_policy(
            session,
            world.gov.catalogue,
            actor="dpo",
            grantee_kind=GranteeKind.ROLE,
            grantee="operator",
            purpose_code="epidemic.tracing",
            dataset="health.scan",
            fields={"district_code": "keep"},
            reason="operators see districts",
            now=NOW,
        )
    assert policy.version == 1


# --- over HTTP ----------------------------------------------------------------------------------


def _token(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def served(app: FastAPI, world: World, session_factory: sessionmaker[Session]) -> World:
    app.state.governance = world.gov
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        platform = create_department(session, code="platform", function="platform")
        create_staff(session, username="the.dpo", roles=(Role.DPO,), department=platform)
        create_staff(session, username="the.admin", roles=(Role.ADMIN,), department=platform)
    _member_of_health(session_factory, "health.dpo", Role.DPO)
    return world


def test_over_http_the_officer_is_refused_the_door_naming_the_rule(
    served: World, client: TestClient
) -> None:
    response = client.post(
        "/api/v1/governance/read",
        json={"purpose": "epidemic.tracing", "dataset": "health.scan"},
        headers=_token(client, "health.dpo"),
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["rule"] == "separation-of-duties"


def test_over_http_a_masked_filter_is_a_403_naming_the_field_and_rule(
    served: World, client: TestClient
) -> None:
    response = client.post(
        "/api/v1/governance/read",
        json={
            "purpose": "epidemic.tracing",
            "dataset": "health.scan",
            "where": {"phone": "13800000000"},
        },
        headers=_token(client, "officer"),
    )
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {
            "field": "where.phone",
            "rule": "granted-in-full",
            "detail": (
                "phone is granted masked (partial:3:4); filter only on fields granted in full"
            ),
        }
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/governance/changes"),
        ("GET", "/api/v1/governance/reads/summary"),
        ("POST", "/api/v1/governance/retention/run"),
    ],
)
def test_the_administrator_is_not_the_data_protection_officer(
    served: World, client: TestClient, method: str, path: str
) -> None:
    refused = client.request(method, path, headers=_token(client, "the.admin"))
    assert refused.status_code == 403
    allowed = client.request(method, path, headers=_token(client, "the.dpo"))
    assert allowed.status_code == 200

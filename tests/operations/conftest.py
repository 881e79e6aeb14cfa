"""A small operations world for the case-loop tests: departments, operators, field staff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen, create_department, create_staff
from twonets.core import auth
from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.operations.cases import catalogue

# Monday 30 November 2026, 10:00 in Shanghai: inside working hours.
MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
Login = Callable[[str], dict[str, str]]
# People's Square, Huangpu (WGS-84).
BUND = (121.4737, 31.2304)


@dataclass(frozen=True)
class OpsWorld:
    """Who acts in the loop tests."""

    operator: Principal
    second_operator: Principal
    supervisor: Principal
    handler: Principal
    other_handler: Principal
    greening_handler: Principal
    urban_department: str
    greening_department: str


@pytest.fixture
def ops_world(session_factory: sessionmaker[Session]) -> OpsWorld:
    """Departments of Huangpu and the city operations centre, with their staff."""
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        centre = create_department(session, code="t.ops", function="operations")
        urban = create_department(
            session,
            code="t.310101.urban",
            function="urban-management",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        greening = create_department(
            session,
            code="t.310101.greening",
            function="greening",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        create_department(
            session,
            code="t.310101.works",
            function="public-works",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        people = [
            create_staff(session, roles=(Role.OPERATOR,), department=centre),
            create_staff(session, roles=(Role.OPERATOR,), department=centre),
            create_staff(session, roles=(Role.SUPERVISOR,), department=centre),
            create_staff(session, roles=(Role.FIELD,), department=urban),
            create_staff(session, roles=(Role.FIELD,), department=urban),
            create_staff(session, roles=(Role.FIELD,), department=greening),
        ]
        principals = [auth.principal_of(a) for a in people]
    return OpsWorld(*principals, urban.code, greening.code)


@pytest.fixture
def frozen_app(app: FastAPI) -> FastAPI:
    """The app with its clock at Monday 10:00 Shanghai."""
    app.state.clock = lambda: MONDAY_10
    return app


@pytest.fixture
def people(session_factory: sessionmaker[Session]) -> dict[str, str]:
    """Usernames by role: an operator, a supervisor, a handler of Huangpu's urban management,
    a member of staff, a resident."""
    with unit_of_work(session_factory) as session:
        catalogue.ensure_elements(session)
        centre = create_department(session, code="a.ops", function="operations")
        urban = create_department(
            session,
            code="a.310101.urban",
            function="urban-management",
            level=DepartmentLevel.DISTRICT,
            district_code="310101",
        )
        names = {
            "operator": create_staff(session, roles=(Role.OPERATOR,), department=centre).username,
            "supervisor": create_staff(
                session, roles=(Role.SUPERVISOR,), department=centre
            ).username,
            "field": create_staff(session, roles=(Role.FIELD,), department=urban).username,
            "staff": create_staff(session, roles=(Role.STAFF,), department=centre).username,
            "resident": create_citizen(session).username,
        }
    return names


@pytest.fixture
def login(client: TestClient, people: dict[str, str], frozen_app: FastAPI) -> Login:
    """Headers with a bearer token for one of ``people``."""

    def headers(who: str) -> dict[str, str]:
        answer = client.post(
            "/api/v1/auth/token", json={"username": people[who], "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    return headers

"""The access matrix: every state-changing route refuses every principal outside its authority.

Generated, not listed by hand: the routes come from the app (a route added tomorrow is in the
matrix without anyone remembering it), the principals from the roles (one account per role,
in a department of Shanghai and in one of Jiangsu, plus a resident, an enterprise and nobody).
A route that declares ``require(roles)`` must answer 403 problem+json to every account that
holds none of those roles, and 401 to a caller who is not logged in, before it looks at the
request's body or the resource it names. The API is called with the bearer token, the pages
with the session cookie, as their users call them.

Who may act on which resource (the issuing department, the region, the scenario's authority)
is decided by the services from the resource: those cases are the second half of this file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, PASSWORD, create_citizen, next_credit_code
from twonets.core import auth, service
from twonets.core.db import unit_of_work, utcnow
from twonets.core.http import TOKEN_COOKIE, access_of, iter_calls
from twonets.core.models import DepartmentLevel, Role

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STAFF_ROLES = sorted(service.STAFF_ROLES, key=lambda r: r.value)
REGIONS = ("SH", "JS")


@dataclass(frozen=True)
class Caller:
    """One principal of the matrix and the token it calls with."""

    name: str
    roles: frozenset[Role]
    token: str | None


@dataclass(frozen=True)
class Guarded:
    """A state-changing route and the roles its declaration names."""

    method: str
    path: str
    roles: frozenset[Role]

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def url(self) -> str:
        # Any value will do for a path parameter: the refusal comes before the lookup.
        return re.sub(r"\{[^}]+\}", "1", self.path)


def guarded_routes(app: FastAPI) -> list[Guarded]:
    """Every state-changing route of the app that names the roles allowed to call it."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        dependant = getattr(context, "dependant", None) or route.dependant
        declared = {access_of(call) for call in iter_calls(dependant)} - {None}
        roles = [d for d in declared if d and d.startswith("roles:")]
        if not roles:
            continue
        allowed = frozenset(Role(r) for d in roles for r in d.removeprefix("roles:").split(","))
        for method in sorted(set(context.methods or ()) & STATE_CHANGING):
            found.append(Guarded(method, str(context.path), allowed))
    return found


def _callers(factory: sessionmaker[Session]) -> list[Caller]:
    callers = [Caller("nobody", frozenset(), None)]
    ttl = timedelta(hours=1)
    with unit_of_work(factory) as session:
        accounts = []
        for region in REGIONS:
            department = service.create_department(
                session,
                code=f"matrix.{region.lower()}.police",
                name=f"{region} 公安",
                name_en=f"{region} police",
                function="police",
                level=DepartmentLevel.CITY,
                region_code=region,
            )
            for role in STAFF_ROLES:
                name = f"matrix.{region.lower()}.{role.value}"
                account = service.create_staff_account(
                    session,
                    username=name,
                    display_name=name,
                    password=PASSWORD,
                    department_code=department.code,
                    roles=[role],
                )
                accounts.append((account, frozenset({role})))
        resident = create_citizen(session)
        accounts.append((resident, frozenset({Role.CITIZEN})))
        firm = service.register_enterprise(
            session, credit_code=next_credit_code(), name="矩阵企业", password=PASSWORD, now=NOW
        )
        accounts.append((firm, frozenset({Role.ENTERPRISE})))
        for account, roles in accounts:
            token = auth.issue_token(session, account, now=utcnow(), ttl=ttl)
            callers.append(Caller(account.username, roles, token))
    return callers


@pytest.fixture
def callers(session_factory: sessionmaker[Session], migrated_url: str) -> list[Caller]:
    """The matrix's principals (on SQLite only: the rule is the app's, not the database's)."""
    if not migrated_url.startswith("sqlite"):
        pytest.skip("the access matrix runs on SQLite; each service's own tests run on both")
    return _callers(session_factory)


def _call(client: TestClient, route: Guarded, caller: Caller) -> tuple[int, str]:
    headers = {"Accept": "application/json"}
    cookies = {}
    if caller.token is not None:
        if route.api:
            headers["Authorization"] = f"Bearer {caller.token}"
        else:
            cookies[TOKEN_COOKIE] = caller.token
    client.cookies.clear()
    for name, value in cookies.items():
        client.cookies.set(name, value)
    response = client.request(route.method, route.url(), headers=headers)
    return response.status_code, response.headers.get("content-type", "")


def test_the_matrix_sees_the_routes_of_every_domain(app: FastAPI) -> None:
    paths = {r.path for r in guarded_routes(app)}

    for expected in (
        "/api/v1/staff",
        "/api/v1/governance/purposes",
        "/api/v1/licences",
        "/api/v1/codes/scans",
        "/api/v1/health/mobilisations",
    ):
        assert expected in paths, expected
    assert any(not p.startswith("/api/") for p in paths), "the pages' forms are in it too"


def test_every_state_changing_route_refuses_principals_outside_its_roles(
    app: FastAPI, client: TestClient, callers: list[Caller]
) -> None:
    wrong = []
    checked = 0
    for route in guarded_routes(app):
        for caller in callers:
            if caller.roles & route.roles:
                continue
            status, kind = _call(client, route, caller)
            checked += 1
            expected = 401 if caller.token is None else 403
            if caller.token is None and not route.api and status == 303:
                continue  # a page sends a visitor who is not logged in to the login form
            if status != expected or "application/problem+json" not in kind:
                wrong.append(f"{route.method} {route.path} as {caller.name}: {status} {kind}")
    assert checked > 500
    assert wrong == []


def test_the_administrator_holds_administration_only(
    app: FastAPI, client: TestClient, callers: list[Caller]
) -> None:
    admin = next(c for c in callers if c.roles == {Role.ADMIN})
    data_protection = [r for r in guarded_routes(app) if r.roles == {Role.DPO}]

    assert data_protection, "purposes, policies and the ledger are the officer's alone"
    for route in data_protection:
        status, _ = _call(client, route, admin)
        assert status == 403, f"{route.method} {route.path}"

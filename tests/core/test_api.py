"""The core's HTTP API: problem+json errors, registration, tokens, access, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen, create_staff, next_credit_code, next_id_number
from twonets.core.auth import Principal, PrincipalCache
from twonets.core.db import unit_of_work
from twonets.core.models import (
    Account,
    AccountKind,
    AuthToken,
    Citizen,
    Enterprise,
    OutboxEvent,
    Role,
)

PROBLEM = "application/problem+json"


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_malformed_id_number_is_422_naming_the_field_and_nothing_is_written(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    good = next_id_number()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    response = client.post(
        "/api/v1/citizens", json={"id_number": wrong, "name": "李四", "password": PASSWORD}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"].endswith("/invalid")
    assert body["detail"] == f"id_number: check character should be {good[17]}, got {wrong[17]}"
    assert body["errors"] == [
        {
            "field": "id_number",
            "rule": "id_number",
            "detail": f"check character should be {good[17]}, got {wrong[17]}",
        }
    ]
    assert "Traceback" not in response.text
    assert _count(session_factory, Citizen) == 0
    assert _count(session_factory, Account) == 0
    assert _count(session_factory, OutboxEvent) == 0


def test_impossible_birth_date_is_named(client: TestClient) -> None:
    from twonets.core.ids import id_number_check_character

    first17 = "11010519491331002"
    response = client.post(
        "/api/v1/citizens",
        json={
            "id_number": first17 + id_number_check_character(first17),
            "name": "x",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "id_number: birth date 19491331 is not a real date"


def test_credit_code_with_letter_o_is_rejected(client: TestClient) -> None:
    response = client.post(
        "/api/v1/enterprises",
        json={"credit_code": "91110000600O37341L", "name": "x", "password": PASSWORD},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "credit_code"
    assert "'O' at position 12" in response.json()["detail"]


def test_several_bad_fields_are_all_listed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/citizens", json={"id_number": "123", "name": "", "password": "x", "extra": 1}
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"id_number", "name", "password", "extra"}
    assert response.json()["detail"].endswith("(and 3 more)")


def test_registration_then_login_then_me(client: TestClient) -> None:
    number = next_id_number()
    response = client.post(
        "/api/v1/citizens",
        json={"id_number": number.lower(), "name": "王五", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    assert response.json()["username"] == number
    headers = _token(client, number)
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["kind"] == "citizen"
    assert me["roles"] == ["citizen"]


def test_registering_twice_is_a_conflict(client: TestClient) -> None:
    body = {"credit_code": next_credit_code(), "name": "测试公司", "password": PASSWORD}
    assert client.post("/api/v1/enterprises", json=body).status_code == 201
    second = client.post("/api/v1/enterprises", json=body)
    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM)


def test_idempotency_key_replays_the_first_answer(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    body = {"credit_code": next_credit_code(), "name": "幂等公司", "password": PASSWORD}
    headers = {"Idempotency-Key": "reg-42"}
    first = client.post("/api/v1/enterprises", json=body, headers=headers)
    again = client.post("/api/v1/enterprises", json=body, headers=headers)
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert _count(session_factory, Enterprise) == 1
    other = client.post("/api/v1/enterprises", json={**body, "name": "另一个"}, headers=headers)
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]


def test_wrong_password_and_missing_token_are_401_problems(client: TestClient) -> None:
    bad = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "whatever1"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith(PROBLEM)
    anonymous = client.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    garbage = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert garbage.status_code == 401
    assert garbage.json()["detail"] == "the token is not known"


def test_logout_revokes_the_token(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_citizen(session, id_number=(number := next_id_number()))
    headers = _token(client, number)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_roles_guard_admin_routes(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="clerk", roles=(Role.STAFF,))
        create_staff(session, username="boss", roles=(Role.ADMIN,))
    department = {
        "code": "sh.test",
        "name": "测试局",
        "name_en": "Test Bureau",
        "function": "testing",
        "level": "city",
    }
    forbidden = client.post("/api/v1/departments", json=department, headers=_token(client, "clerk"))
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "this action needs one of the roles: admin"
    created = client.post("/api/v1/departments", json=department, headers=_token(client, "boss"))
    assert created.status_code == 201
    listed = client.get("/api/v1/departments", headers=_token(client, "clerk")).json()
    assert "sh.test" in {d["code"] for d in listed}


def test_district_department_needs_its_district(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="root", roles=(Role.ADMIN,))
    response = client.post(
        "/api/v1/departments",
        json={"code": "x.y", "name": "区局", "name_en": "X", "function": "f", "level": "district"},
        headers=_token(client, "root"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "district_code"


def test_districts_and_regions_are_public(client: TestClient) -> None:
    districts = client.get("/api/v1/districts").json()
    assert len(districts) == 16
    assert sum(d["population_2020"] for d in districts) == 24_870_895
    regions = {r["code"] for r in client.get("/api/v1/regions").json()}
    assert {"SH", "JS", "ZJ", "AH"} <= regions
    geojson = client.get("/api/v1/districts.geojson")
    assert geojson.headers["content-type"] == "application/geo+json"
    assert len(geojson.json()["features"]) == 16
    assert client.get("/api/v1/districts.geojson?crs=mercator").status_code == 422


def test_ids_check_endpoint(client: TestClient) -> None:
    response = client.get(
        "/api/v1/ids/check", params=[("value", "11010519491231002X"), ("value", "abc")]
    )
    assert [r["valid"] for r in response.json()] == [True, False]
    assert response.json()[1]["reason"] == "length should be 18, got 3"


def test_health_readiness_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/citizens" in paths


def test_readyz_fails_on_an_unmigrated_database(tmp_path: object) -> None:
    from pathlib import Path

    from twonets.core.config import Settings
    from twonets.web import create_app

    assert isinstance(tmp_path, Path)
    settings = Settings(var_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/empty.db")
    with TestClient(create_app(settings, relay=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "run db upgrade" in response.json()["detail"]


def test_unexpected_errors_leak_no_trace(app: FastAPI) -> None:
    from fastapi import Depends

    from twonets.core.http import public

    @app.get("/api/v1/boom", dependencies=[Depends(public)])
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["detail"] == "no route /api/v1/nothing-here"


def test_registration_writes_an_outbox_event(client: TestClient, session: Session) -> None:
    client.post(
        "/api/v1/citizens",
        json={"id_number": next_id_number(), "name": "赵六", "password": PASSWORD},
    )
    topics = session.scalars(select(OutboxEvent.topic)).all()
    assert topics == ["core.citizen.registered"]


def test_a_resolved_login_is_reused_for_a_few_seconds_and_logout_ends_it_at_once(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_citizen(session, id_number=(number := next_id_number()))
    headers = _token(client, number)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Revoked behind the process's back: the cached login still answers within its seconds...
    with unit_of_work(session_factory) as session:
        record = session.scalars(select(AuthToken)).all()
        for token in record:
            token.revoked_at = token.created_at
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # ...while a logout through this process drops it at once.
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    after = client.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_the_principal_cache_expires_with_its_seconds_and_with_the_token() -> None:
    principal = Principal(
        account_id=1, username="u", display_name="U", kind=AccountKind.CITIZEN, roles=frozenset()
    )
    now = datetime(2026, 11, 30, tzinfo=UTC)
    cache = PrincipalCache(ttl_seconds=60)
    cache.put("t", principal, expires_at=now + timedelta(minutes=5))
    assert cache.get("t", now=now) == principal
    assert cache.get("t", now=now + timedelta(minutes=5)) is None  # the token itself expired
    assert cache.get("t", now=now) is None  # and the entry is gone
    off = PrincipalCache(ttl_seconds=0)
    off.put("t", principal, expires_at=now + timedelta(minutes=5))
    assert off.get("t", now=now) is None
    stale = PrincipalCache(ttl_seconds=1e-9)
    stale.put("t", principal, expires_at=now + timedelta(minutes=5))
    assert stale.get("t", now=now) is None

"""The core's HTTP API: problem+json errors, registration, tokens, access, idempotency."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import (
    PASSWORD,
    create_citizen,
    create_department,
    create_resident,
    create_staff,
    next_credit_code,
    next_id_number,
)
from twonets.core.auth import Principal, PrincipalCache
from twonets.core.config import Settings
from twonets.core.db import unit_of_work
from twonets.core.models import (
    Account,
    AccountKind,
    AuthToken,
    Enterprise,
    LoginAttempt,
    OutboxEvent,
    Role,
    SignupMessage,
)
from twonets.core.sms import FileSms

PROBLEM = "application/problem+json"


@pytest.fixture
def outbox(app: FastAPI, tmp_path: Path) -> FileSms:
    """The app's text messages, written to a file the test reads."""
    sms = FileSms(tmp_path / "sms.jsonl")
    app.state.sms = sms
    return sms


def _code_in(text: str) -> str:
    found = re.search(r"\b(\d{6})\b", text)
    assert found is not None, text
    return found.group(1)


def _topics(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(OutboxEvent.topic).order_by(OutboxEvent.id)))


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _staff_of(
    session_factory: sessionmaker[Session], function: str, roles: tuple[Role, ...] = (Role.STAFF,)
) -> str:
    username = f"{function}.{'.'.join(sorted(roles))}"
    with unit_of_work(session_factory) as session:
        create_staff(
            session,
            username=username,
            roles=roles,
            department=create_department(session, function=function),
        )
    return username


def test_malformed_id_number_is_422_naming_the_field_and_nothing_is_written(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    good = next_id_number()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    response = client.post("/api/v1/signup/citizen", json={"id_number": wrong, "name": "李四"})
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
    assert _count(session_factory, SignupMessage) == 0
    assert _count(session_factory, Account) == 0
    assert _count(session_factory, OutboxEvent) == 0


def test_impossible_birth_date_is_named(client: TestClient) -> None:
    from twonets.core.ids import id_number_check_character

    first17 = "11010519491331002"
    response = client.post(
        "/api/v1/signup/citizen",
        json={"id_number": first17 + id_number_check_character(first17), "name": "x"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "id_number: birth date 19491331 is not a real date"


def test_credit_code_with_letter_o_is_rejected(client: TestClient) -> None:
    response = client.post(
        "/api/v1/signup/enterprise", json={"credit_code": "91110000600O37341L", "name": "x"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "credit_code"
    assert "'O' at position 12" in response.json()["detail"]


def test_several_bad_fields_are_all_listed(client: TestClient) -> None:
    response = client.post(
        "/api/v1/signup/citizen/confirm",
        json={"id_number": "123", "code": "", "password": "x", "extra": 1},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"id_number", "code", "password", "extra"}
    assert response.json()["detail"].endswith("(and 3 more)")


def _signup_start(client: TestClient, id_number: str, name: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/signup/citizen", json={"id_number": id_number, "name": name})
    return response.status_code, response.json()


def test_signup_answers_the_same_for_a_registered_an_unregistered_and_an_unknown_number(
    client: TestClient, session_factory: sessionmaker[Session], outbox: FileSms
) -> None:
    with unit_of_work(session_factory) as session:
        without_account = create_resident(session, name="王芳").id_number
        with_account = create_citizen(session, name="李雷", phone="13912340000").username
    answers = [
        _signup_start(client, without_account, "王芳"),
        _signup_start(client, with_account, "李雷"),
        _signup_start(client, next_id_number(), "张三"),
    ]
    assert answers[0] == answers[1] == answers[2]
    status, body = answers[0]
    assert status == 202
    assert body == {
        "detail": "If these details match a resident without an account, a code was sent to "
        "the phone on record. Enter it within 10 minutes. If an account already exists, the "
        "message says so instead."
    }
    assert len(outbox.messages()) == 2  # a code, and a notice to the account holder's phone


def test_a_resident_confirms_the_code_from_the_text_message_and_logs_in(
    client: TestClient, session_factory: sessionmaker[Session], outbox: FileSms
) -> None:
    with unit_of_work(session_factory) as session:
        number = create_resident(session, name="王五").id_number
    assert _signup_start(client, number.lower(), "王五")[0] == 202
    code = _code_in(outbox.messages()[-1].text)

    response = client.post(
        "/api/v1/signup/citizen/confirm",
        json={"id_number": number, "code": code, "password": PASSWORD},
    )

    assert response.status_code == 201, response.text
    assert response.json()["username"] == number
    me = client.get("/api/v1/me", headers=_token(client, number)).json()
    assert (me["kind"], me["roles"], me["display_name"]) == ("citizen", ["citizen"], "王五")
    topics = [t for t in _topics(session_factory) if t.startswith("core.account")]
    assert topics == ["core.account.opened"]


def test_five_wrong_codes_burn_the_code(
    client: TestClient, session_factory: sessionmaker[Session], outbox: FileSms
) -> None:
    with unit_of_work(session_factory) as session:
        number = create_resident(session).id_number
    _signup_start(client, number, "张三")
    code = _code_in(outbox.messages()[-1].text)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    bodies = []
    for attempt in [wrong] * 5 + [code]:
        response = client.post(
            "/api/v1/signup/citizen/confirm",
            json={"id_number": number, "code": attempt, "password": PASSWORD},
        )
        assert response.status_code == 422
        bodies.append(response.json())
    assert all(b == bodies[0] for b in bodies)  # the burned code gets the same refusal
    assert bodies[0]["errors"][0]["field"] == "code"
    assert _count(session_factory, Account) == 0


def test_the_registers_are_written_by_their_keepers_only(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    police = _token(client, _staff_of(session_factory, "police"))
    health = _token(client, _staff_of(session_factory, "health"))
    admin = _token(client, _staff_of(session_factory, "police", (Role.ADMIN,)))
    body = {"id_number": next_id_number(), "name": "孙八", "phone": "13800001111"}
    assert client.post("/api/v1/citizens", json=body).status_code == 401
    refused = client.post("/api/v1/citizens", json=body, headers=health)
    assert refused.status_code == 403
    assert "population register (police)" in refused.json()["detail"]
    assert client.post("/api/v1/citizens", json=body, headers=admin).status_code == 403
    created = client.post("/api/v1/citizens", json=body, headers=police)
    assert created.status_code == 201, created.text
    assert created.json()["identifier"] == body["id_number"]
    assert _count(session_factory, Account) == 3  # the three clerks: no resident login yet
    assert _topics(session_factory) == ["core.citizen.registered"]


def test_registering_twice_is_a_conflict(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    headers = _token(client, _staff_of(session_factory, "market-regulation"))
    body = {"credit_code": next_credit_code(), "name": "测试公司", "phone": "13800002222"}
    assert client.post("/api/v1/enterprises", json=body, headers=headers).status_code == 201
    second = client.post("/api/v1/enterprises", json=body, headers=headers)
    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM)


def test_idempotency_key_replays_the_first_answer(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    headers = {
        **_token(client, _staff_of(session_factory, "market-regulation")),
        "Idempotency-Key": "reg-42",
    }
    body = {"credit_code": next_credit_code(), "name": "幂等公司"}
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
    assert {"/api/v1/citizens", "/api/v1/signup/citizen", "/api/v1/signup/citizen/confirm"} <= set(
        paths
    )


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


def test_the_administrator_holds_only_administration(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _token(client, _staff_of(session_factory, "platform", (Role.ADMIN,)))
    officer = _token(client, _staff_of(session_factory, "platform", (Role.DPO,)))
    # A data protection officer's route, and a department's role, are not the administrator's.
    purposes = client.get("/api/v1/governance/changes", headers=admin)
    assert purposes.status_code == 403
    assert purposes.headers["content-type"].startswith(PROBLEM)
    assert purposes.json()["detail"] == "this action needs one of the roles: dpo"
    hospitals = client.get("/api/v1/health/hospitals", headers=admin)
    assert hospitals.status_code == 403
    assert hospitals.json()["detail"] == "this action needs one of the roles: health_planner"
    assert client.get("/api/v1/governance/changes", headers=officer).status_code == 200
    # ...and the officer does not administer.
    staff = {
        "username": "new.clerk",
        "display_name": "新职员",
        "password": PASSWORD,
        "department_code": "platform",
    }
    assert client.post("/api/v1/staff", json=staff, headers=officer).status_code == 403


def test_no_account_is_made_both_officer_and_anything_else(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _token(client, _staff_of(session_factory, "platform", (Role.ADMIN,)))
    with unit_of_work(session_factory) as session:
        create_department(session, code="platform", function="platform")
    staff = {
        "username": "two.hats",
        "display_name": "两顶帽子",
        "password": PASSWORD,
        "department_code": "platform",
        "roles": ["dpo", "admin"],
    }
    response = client.post("/api/v1/staff", json=staff, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "roles"
    assert response.json()["errors"][0]["rule"] == "separation-of-duties"
    assert "admin or dpo, never both" in response.json()["detail"]
    response = client.post(
        "/api/v1/staff", json={**staff, "roles": ["dpo", "staff"]}, headers=admin
    )
    assert response.status_code == 422
    assert "holds no other role" in response.json()["detail"]
    assert client.post("/api/v1/staff", json={**staff, "roles": ["dpo"]}, headers=admin).json()[
        "roles"
    ] == ["dpo"]


def _login(client: TestClient, username: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return response.status_code, response.json()


def test_login_locks_out_known_and_unknown_user_names_alike(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="known.user")
    known = [_login(client, "known.user", "wrong-password") for _ in range(6)]
    unknown = [_login(client, "unknown.user", "wrong-password") for _ in range(6)]
    assert known == unknown
    assert [status for status, _ in known] == [401] * 4 + [429] * 2
    assert known[-1][1]["type"] == "https://twonets.dev/problems/too-many-attempts"
    assert _login(client, "known.user", PASSWORD)[0] == 429
    with session_factory() as session:
        outcomes = session.execute(
            select(LoginAttempt.username, LoginAttempt.outcome, LoginAttempt.address)
        ).all()
    assert sorted(set(outcomes)) == [
        ("known.user", "failure", "testclient"),
        ("known.user", "locked", "testclient"),
        ("unknown.user", "failure", "testclient"),
        ("unknown.user", "locked", "testclient"),
    ]


def test_an_address_is_refused_after_its_failures(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    from twonets.web import create_app

    with unit_of_work(session_factory) as session:
        create_staff(session, username="bystander")
    strict = settings.model_copy(update={"login_failures_per_address": 3})
    with TestClient(create_app(strict, engine=engine, relay=False)) as client:
        for n in range(3):
            assert _login(client, f"guess{n}", "wrong-password")[0] == 401
        status, body = _login(client, "bystander", PASSWORD)
    assert status == 429
    assert "your network address" in str(body["detail"])


def test_successful_logins_are_not_slowed_or_recorded(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="daily")
    for _ in range(12):
        assert _login(client, "daily", PASSWORD)[0] == 200
    assert _count(session_factory, LoginAttempt) == 0


def test_an_administrator_sees_and_lifts_a_lock_out(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _token(client, _staff_of(session_factory, "platform", (Role.ADMIN,)))
    officer = _token(client, _staff_of(session_factory, "platform", (Role.DPO,)))
    with unit_of_work(session_factory) as session:
        create_staff(session, username="forgetful")
    for _ in range(5):
        _login(client, "forgetful", "wrong-password")
    assert client.get("/api/v1/accounts/lockouts", headers=officer).status_code == 403
    listed = client.get("/api/v1/accounts/lockouts", headers=admin).json()
    assert [(lock["username"], lock["active"]) for lock in listed["lockouts"]] == [
        ("forgetful", True)
    ]
    assert client.post("/api/v1/accounts/forgetful/unlock", headers=officer).status_code == 403

    unlocked = client.post("/api/v1/accounts/forgetful/unlock", headers=admin)

    assert unlocked.status_code == 200
    assert unlocked.json()["active"] is False
    assert _login(client, "forgetful", PASSWORD)[0] == 200
    assert client.post("/api/v1/accounts/forgetful/unlock", headers=admin).status_code == 404


def test_the_api_refuses_the_page_cookie(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        create_staff(session, username="cookie.holder")
    form = client.post(
        "/login",
        data={"username": "cookie.holder", "password": PASSWORD},
        follow_redirects=False,
    )
    assert form.status_code == 303
    assert client.cookies.get("twonets_token")
    assert client.get("/", headers={"accept": "text/html"}).status_code == 200  # pages take it

    refused = client.get("/api/v1/me")

    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "bearer token" in refused.json()["detail"]

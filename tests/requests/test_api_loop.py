"""Over HTTP: retries under an Idempotency-Key, the knowledge base's API, the inbox."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from requests_world import HUANGPU, NOW, World
from twonets.core.db import unit_of_work
from twonets.requests import service
from twonets.requests.models import Request as RequestRow

API = "/api/v1/requests"
ROOT = "/open311/v2"


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(RequestRow)) or 0)


def test_a_retried_request_is_filed_once(
    client: TestClient, app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    firm = login(client, world.firm.username)
    body = {"category": "ent-licence", "description": "分公司设立登记材料"}
    keyed = {**firm, "Idempotency-Key": "f6b1a1d0-retry-1"}
    first = client.post(API, json=body, headers=keyed)
    assert first.status_code == 201, first.text
    again = client.post(API, json=body, headers=keyed)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert _count(session_factory) == 1
    # The same key with another body is the client's mistake: 422 naming the header.
    other = client.post(API, json={**body, "description": "另一件事"}, headers=keyed)
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    problem = other.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert _count(session_factory) == 1
    # Another firm's key space is its own.
    rival = {**login(client, world.other_firm.username), "Idempotency-Key": "f6b1a1d0-retry-1"}
    assert client.post(API, json=body, headers=rival).json()["id"] != first.json()["id"]
    # Without a key, each post files.
    client.post(API, json=body, headers=firm)
    assert _count(session_factory) == 3


def _report(client: TestClient, key: str, idem: str, **extra: Any) -> Any:
    form = {
        "api_key": key,
        "service_code": "E0102",
        "lat": str(HUANGPU[1]),
        "long": str(HUANGPU[0]),
        "description": "路边垃圾堆积，已经三天没人清运",
        **extra,
    }
    return client.post(
        f"{ROOT}/requests.json", data=form, headers={"Origin": "", "Idempotency-Key": idem}
    )


def test_a_retried_open311_report_is_filed_once(
    client: TestClient, app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        key = service.create_client(session, "street-app", now=NOW)[1]
    first = _report(client, key, "report-1")
    assert first.status_code == 201, first.text
    again = _report(client, key, "report-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert _count(session_factory) == 1
    changed = _report(client, key, "report-1", description="另一处垃圾")
    assert changed.status_code == 422
    assert changed.json()[0]["code"] == 422
    assert "Idempotency-Key" in changed.json()[0]["description"]
    assert _count(session_factory) == 1


def test_the_knowledge_base_over_http(client: TestClient, app: FastAPI, world: World) -> None:
    app.state.clock = lambda: NOW
    entry = {
        "code": "kb-branch",
        "category": "ent-licence",
        "question": "分公司 设立 登记 需要 哪些 材料",
        "answer": "提交分公司登记申请书和总公司执照复印件。",
    }
    for who in (world.market_huangpu, world.dispatcher):
        denied = client.post(f"{API}/answers", json=entry, headers=login(client, who.username))
        assert denied.status_code == 403, denied.text
    hub = login(client, world.hub.username)
    created = client.post(f"{API}/answers", json=entry, headers=hub)
    assert created.status_code == 201, created.text
    assert [a["code"] for a in client.get(f"{API}/answers").json()] == ["kb-branch"]
    firm = login(client, world.firm.username)
    filed = client.post(API, json={"description": "分公司设立登记需要哪些材料？"}, headers=firm)
    assert filed.json()["status"] == "answered"
    assert filed.json()["answer_code"] == "kb-branch"
    request_id = filed.json()["id"]
    rival = login(client, world.other_firm.username)
    assert (
        client.post(f"{API}/{request_id}/ask-department", json={}, headers=rival).status_code == 403
    )
    asked = client.post(f"{API}/{request_id}/ask-department", json={}, headers=firm)
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "assigned"
    denied = client.patch(
        f"{API}/answers/kb-branch",
        json={"active": False},
        headers=login(client, world.market_city.username),
    )
    assert denied.status_code == 403
    withdrawn = client.patch(f"{API}/answers/kb-branch", json={"active": False}, headers=hub)
    assert withdrawn.json()["active"] is False


def test_the_inbox_over_http(client: TestClient, app: FastAPI, world: World) -> None:
    app.state.clock = lambda: NOW
    firm = login(client, world.firm.username)
    filed = client.post(
        API, json={"category": "ent-licence", "description": "分公司设立登记材料"}, headers=firm
    ).json()
    district = login(client, world.market_huangpu.username)
    assert client.post(f"{API}/{filed['id']}/accept", headers=district).status_code == 200
    notices = client.get(f"{API}/inbox", headers=firm).json()
    assert [n["action"] for n in notices] == ["accept", "route"]
    assert [n["action"] for n in client.get(f"{API}/inbox", headers=district).json()] == ["route"]
    rival = login(client, world.other_firm.username)
    assert client.get(f"{API}/inbox", headers=rival).json() == []
    stolen = client.post(f"{API}/inbox/read", json={"ids": [notices[0]["id"]]}, headers=rival)
    assert stolen.status_code == 403
    marked = client.post(f"{API}/inbox/read", json={}, headers=firm)
    assert marked.json() == {"marked": 2}
    assert client.get(f"{API}/inbox?unread=true", headers=firm).json() == []
    assert client.get(f"{API}/inbox").status_code == 401

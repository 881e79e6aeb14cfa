"""The whole loop over HTTP, as filers, departments and the scheduled work meet it: declined
and re-routed, escalated after the limit, answered, reopened, closed and rated; answered at
once from the knowledge base; a resident's report handled as an operations case that closes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff
from requests_world import HUANGPU, NOW, World
from twonets.core import auth
from twonets.core.db import unit_of_work
from twonets.core.events import OutboxRelay
from twonets.core.models import Department, Role
from twonets.operations.cases import service as ops
from twonets.operations.cases.states import get_case_by_number
from twonets.requests import service

API = "/api/v1/requests"


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_declined_escalated_answered_reopened_closed(
    client: TestClient, app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    now = [NOW]
    app.state.clock = lambda: now[0]
    firm = login(client, world.firm.username)
    district = login(client, world.market_huangpu.username)
    city = login(client, world.market_city.username)
    hub = login(client, world.hub.username)
    filed = client.post(
        API,
        json={"category": "ent-licence", "description": "分公司设立登记材料", "urgency": "urgent"},
        headers={**firm, "Idempotency-Key": "loop-1"},
    ).json()
    request_id = filed["id"]
    assert filed["department_code"] == "t.310101.market"
    deadline = filed["deadline_at"]

    # Not ours: re-routed to the city's department; the limit is kept.
    declined = client.post(
        f"{API}/{request_id}/decline", json={"reason": "需市局办理"}, headers=district
    ).json()
    assert declined["department_code"] == "t.market"
    assert declined["deadline_at"] == deadline

    # The scheduled work: past the limit, escalated to the supervising level (the 12345 hub).
    with unit_of_work(session_factory) as session:
        row = service.get_request_row(session, request_id)
        assert row.deadline_at is not None
        now[0] = row.deadline_at + timedelta(hours=1)
        run = service.check_deadlines(session, now=now[0])
        assert run.escalated == 1
    # Days later: everyone logs in again.
    firm, district, city, hub = (
        login(client, who.username)
        for who in (world.firm, world.market_huangpu, world.market_city, world.hub)
    )
    overdue = client.get(f"{API}/overdue", headers=hub).json()
    assert [r["id"] for r in overdue] == [request_id]
    assert overdue[0]["escalated_to_code"] == "t.services"
    assert client.get(f"{API}/{request_id}", headers=district).status_code == 403

    # The city's department answers; the firm says it is not fixed; back to the same one.
    assert client.post(f"{API}/{request_id}/accept", headers=city).status_code == 200
    answered = client.post(
        f"{API}/{request_id}/answer", json={"answer": "已受理登记"}, headers=city
    )
    assert answered.json()["status"] == "answered"
    reopened = client.post(
        f"{API}/{request_id}/reopen", json={"reason": "执照仍未发放"}, headers=firm
    ).json()
    assert reopened["status"] == "assigned"
    assert reopened["department_code"] == "t.market"
    assert reopened["escalated_at"] is None  # a new limit, not yet passed
    assert reopened["deadline_at"] > now[0].isoformat()
    assert client.get(f"{API}/overdue", headers=hub).json() == []
    client.post(f"{API}/{request_id}/answer", json={"answer": "执照已寄出"}, headers=city)
    closed = client.post(f"{API}/{request_id}/confirm", headers=firm).json()
    assert closed["status"] == "closed"
    assert (
        client.post(f"{API}/{request_id}/rate", json={"score": 4}, headers=firm).json()["rating"]
        == 4
    )

    shown = client.get(f"{API}/{request_id}", headers=firm).json()
    assert [s["action"] for s in shown["history"]] == [
        "submit",
        "route",
        "decline",
        "route",
        "escalate",
        "accept",
        "answer",
        "reopen",
        "answer",
        "confirm",
    ]
    heard = [n["action"] for n in client.get(f"{API}/inbox", headers=firm).json()]
    # Everything the others did, newest first; nothing the firm did itself.
    assert heard == ["answer", "answer", "accept", "escalate", "route", "decline", "route"]


def test_answered_at_once_then_closed_by_the_firm(
    client: TestClient, app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        service.load_seed_answers(session, now=NOW)
    firm = login(client, world.firm.username)
    filed = client.post(
        API, json={"description": "请问数电票的开票额度不够用了，怎么申请调整？"}, headers=firm
    ).json()
    assert filed["status"] == "answered"
    assert filed["answer_code"] == "kb-tax-invoice-quota"
    assert filed["department_code"] is None
    closed = client.post(f"{API}/{filed['id']}/confirm", headers=firm).json()
    assert closed["status"] == "closed"


def test_a_residents_report_becomes_a_case_that_closes_and_the_resident_hears_of_it(
    client: TestClient, app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    app.state.clock = lambda: NOW
    resident = login(client, world.resident.username)
    filed = client.post(
        API,
        json={
            "category": "E0102",
            "description": "路边垃圾堆积",
            "lon": HUANGPU[0],
            "lat": HUANGPU[1],
        },
        headers=resident,
    ).json()
    assert filed["status"] == "case"
    with unit_of_work(session_factory) as session:
        greening = session.scalar(select(Department).where(Department.code == "t.310101.greening"))
        assert greening is not None
        handler = auth.principal_of(create_staff(session, roles=(Role.FIELD,), department=greening))
        supervisor = auth.principal_of(create_staff(session, roles=(Role.SUPERVISOR,)))
        case_id = get_case_by_number(session, filed["case_number"]).id
        ops.file_case(session, world.dispatcher, case_id, now=NOW)
        ops.dispatch_case(session, world.dispatcher, case_id, now=NOW)
        ops.accept_case(session, handler, case_id, now=NOW)
        ops.report_handling(session, handler, case_id, now=NOW, note="已清运")
        ops.verify_case(session, supervisor, case_id, passed=True, now=NOW)
        ops.close_case(session, world.dispatcher, case_id, now=NOW)
    relay = OutboxRelay(app.state.session_factory, [app.state.bus])
    while asyncio.run(relay.relay_once()):
        pass
    mine = client.get(f"{API}/{filed['id']}", headers=resident).json()
    assert mine["status"] == "closed"
    notices = client.get(f"{API}/inbox", headers=resident).json()
    assert notices[0]["action"] == "case-closed"


def test_the_scheduled_work_is_registered(app: FastAPI) -> None:
    assert "watch_deadlines" in [work.__name__ for work in app.state.background]

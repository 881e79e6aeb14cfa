"""The requests API over HTTP, and a citizen report's whole loop through an operations case."""

from __future__ import annotations

import asyncio

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

API = "/api/v1/requests"


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_firm_files_and_follows_its_request_and_sees_who_declined(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    firm = login(client, world.firm.username)
    answer = client.post(
        API, json={"category": "ent-licence", "description": "分公司设立登记材料"}, headers=firm
    )
    assert answer.status_code == 201, answer.text
    filed = answer.json()
    assert filed["status"] == "assigned"
    assert filed["department_code"] == "t.310101.market"
    request_id = filed["id"]

    rival = login(client, world.other_firm.username)
    assert client.get(API, headers=rival).json() == []
    refused = client.get(f"{API}/{request_id}", headers=rival)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    # Another department may not work it: 403 before anything changes.
    city = login(client, world.market_city.username)
    for action, body in (
        ("accept", None),
        ("decline", {"reason": "x"}),
        ("answer", {"answer": "y"}),
    ):
        denied = client.post(f"{API}/{request_id}/{action}", json=body, headers=city)
        assert denied.status_code == 403, (action, denied.text)

    district = login(client, world.market_huangpu.username)
    declined = client.post(
        f"{API}/{request_id}/decline", json={"reason": "需前置审批，请市局办理"}, headers=district
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["department_code"] == "t.market"

    shown = client.get(f"{API}/{request_id}", headers=firm).json()
    decline = next(s for s in shown["history"] if s["action"] == "decline")
    assert decline["department_code"] == "t.310101.market"
    assert decline["note"] == "需前置审批，请市局办理"
    assert shown["history"][-1]["action"] == "route"

    message = client.post(
        f"{API}/{request_id}/messages", json={"body": "请问还需什么材料？"}, headers=firm
    )
    assert message.status_code == 201
    assert client.get(f"{API}/{request_id}/messages", headers=city).json()[0]["side"] == "filer"


def test_a_citizen_report_becomes_a_case_and_closes_when_the_case_does(
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
    number = filed["case_number"]
    with unit_of_work(session_factory) as session:
        greening = session.scalar(select(Department).where(Department.code == "t.310101.greening"))
        assert greening is not None
        handler = auth.principal_of(create_staff(session, roles=(Role.FIELD,), department=greening))
        supervisor = auth.principal_of(create_staff(session, roles=(Role.SUPERVISOR,)))
        operator = world.dispatcher
        case_id = get_case_by_number(session, number).id
        ops.file_case(session, operator, case_id, now=NOW)
        ops.dispatch_case(session, operator, case_id, now=NOW)
        ops.accept_case(session, handler, case_id, now=NOW)
        ops.report_handling(session, handler, case_id, now=NOW, note="已清运")
        ops.verify_case(session, supervisor, case_id, passed=True, now=NOW)
        ops.close_case(session, operator, case_id, now=NOW)
    public = client.get(f"/open311/v2/requests/{filed['number']}.json").json()[0]
    assert public["status"] == "open"  # until the case's events arrive
    # The outbox relay hands the case's events to the app's bus, as it does when running.
    relay = OutboxRelay(app.state.session_factory, [app.state.bus])
    while asyncio.run(relay.relay_once()):
        pass
    public = client.get(f"/open311/v2/requests/{filed['number']}.json").json()[0]
    assert public["status"] == "closed"
    mine = client.get(f"{API}/{filed['id']}", headers=resident).json()
    assert mine["status"] == "closed"
    assert mine["history"][-1]["action"] == "case-closed"

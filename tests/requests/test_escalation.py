"""Escalation up the chain: a district department's late request goes to the city department
of its function, and, when that level's own limit passes too, to the government services
office (the 12345 hub); the register of overdue requests shows the level reached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from requests_world import NOW, World, fixed
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.requests import service
from twonets.requests.schemas import NewRequest
from twonets.requests.service import deadlines

Factory = sessionmaker[Session]


def _file(factory: Factory, world: World) -> int:
    with unit_of_work(factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(category="ent-licence", description="营业执照经营范围变更一直在审核中"),
            now=NOW,
            classify=fixed("ent-tax", 0.3),
        )
        return row.id


def test_a_request_left_at_the_supervising_level_goes_one_level_further(
    session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with session_factory() as session:
        deadline = service.get_request(session, world.firm, request_id).deadline_at
        assert deadline is not None
    late = deadline + timedelta(minutes=1)
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=late).escalated == 1
    with session_factory() as session:
        row = service.get_request(session, world.market_city, request_id)
        assert row.escalation_level == 1
        assert service.department_of(session, row.escalated_to_id)[0] == "t.market"  # type: ignore[index]
        level_due = row.escalation_due_at
        assert level_due is not None
        assert level_due > late
        with pytest.raises(Forbidden):  # the hub does not follow it yet
            service.get_request(session, world.hub, request_id)
    # Before the supervising level's own limit: nothing more.
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=level_due - timedelta(minutes=1)).escalated == 0
    # Past it: the next level up, the government services office.
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=level_due).escalated == 1
    with unit_of_work(session_factory) as session:
        # The hub is the top of the chain: no third level, however late.
        far = level_due + timedelta(days=30)
        assert service.check_deadlines(session, now=far).escalated == 0
    with session_factory() as session:
        row = service.get_request(session, world.hub, request_id)
        assert row.escalation_level == 2
        assert service.department_of(session, row.escalated_to_id)[0] == "t.services"  # type: ignore[index]
        assert row.escalation_due_at is None
        # Both supervising levels keep the request in their register; the holder too.
        for who in (world.market_huangpu, world.market_city, world.hub, world.dispatcher):
            assert [r.id for r in service.list_overdue(session, who, now=far)] == [request_id]
        assert service.list_overdue(session, world.greening, now=far) == []
        steps = service.history(session, world.firm, request_id)
        escalations = [
            (s.department_code, s.details["level"]) for s in steps if s.action == "escalate"
        ]
        assert escalations == [("t.market", 1), ("t.services", 2)]
        assert service.list_inbox(session, world.hub)[0].action == "escalate"
        with pytest.raises(Forbidden):
            service.get_request(session, world.greening, request_id)


def test_an_answer_stops_the_climb(session_factory: Factory, world: World) -> None:
    request_id = _file(session_factory, world)
    with session_factory() as session:
        deadline = service.get_request(session, world.firm, request_id).deadline_at
        assert deadline is not None
    with unit_of_work(session_factory) as session:
        service.check_deadlines(session, now=deadline + timedelta(minutes=1))
        service.answer_request(
            session, world.market_huangpu, request_id, answer="已办结", now=deadline
        )
    with unit_of_work(session_factory) as session:
        assert service.check_deadlines(session, now=deadline + timedelta(days=30)).escalated == 0
    with session_factory() as session:
        assert service.get_request(session, world.firm, request_id).escalation_level == 1


def test_the_register_shows_the_level_reached(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with session_factory() as session:
        deadline = service.get_request(session, world.firm, request_id).deadline_at
        assert deadline is not None
    with unit_of_work(session_factory) as session:
        service.check_deadlines(session, now=deadline + timedelta(minutes=1))
    later = deadline + timedelta(days=7)
    with unit_of_work(session_factory) as session:
        service.check_deadlines(session, now=later)
    app.state.clock = lambda: later
    token = client.post(
        "/api/v1/auth/token", json={"username": world.hub.username, "password": PASSWORD}
    ).json()["access_token"]
    overdue = client.get(
        "/api/v1/requests/overdue", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert [(r["id"], r["escalation_level"], r["escalated_to_code"]) for r in overdue] == [
        (request_id, 2, "t.services")
    ]
    assert deadlines.SUPERVISOR_LIMIT_DAYS >= 1


def test_the_register_page_shows_the_level_and_who_follows(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    request_id = _file(session_factory, world)
    with session_factory() as session:
        deadline = service.get_request(session, world.firm, request_id).deadline_at
        assert deadline is not None
    with unit_of_work(session_factory) as session:
        service.check_deadlines(session, now=deadline + timedelta(minutes=1))
    app.state.clock = lambda: deadline + timedelta(hours=2)
    for who, shown in ((world.market_city, 1), (world.market_huangpu, 1), (world.greening, 0)):
        client.cookies.clear()
        client.post("/login", data={"username": who.username, "password": PASSWORD})
        page = client.get("/requests/overdue")
        assert page.status_code == 200
        assert page.text.count('data-level="1"') == shown, who.username
    later = deadline + timedelta(days=7)
    with unit_of_work(session_factory) as session:
        service.check_deadlines(session, now=later)
    app.state.clock = lambda: later
    page = client.get("/requests/overdue", headers={"Accept-Language": "zh-CN"})
    assert page.text.count('data-level="2"') == 0  # greening still sees nothing
    client.cookies.clear()
    client.post("/login", data={"username": world.hub.username, "password": PASSWORD})
    page = client.get("/requests/overdue", headers={"Accept-Language": "zh-CN"})
    assert page.text.count('data-level="2"') == 1
    assert "第 2 级" in page.text
    client.cookies.clear()
    client.post("/login", data={"username": world.firm.username, "password": PASSWORD})
    assert client.get("/requests/overdue").status_code == 403

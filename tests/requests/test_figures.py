"""The requests' figures: counted in SQL, alike on SQLite and PostgreSQL; for overseers only."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_staff
from requests_world import NOW, World, fixed
from twonets.core import auth
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Invalid
from twonets.core.models import Role
from twonets.requests import figures, service
from twonets.requests.models import RequestStep
from twonets.requests.schemas import NewRequest
from twonets.requests.service import figures as figures_service

Factory = sessionmaker[Session]


def bearer(client: TestClient, username: str) -> dict[str, str]:
    """The header of an API call made as ``username``."""
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _file(
    session: Session, world: World, *, hours_ago: float, category: str = "ent-licence"
) -> int:
    row = service.submit_request(
        session,
        service.Filer(principal=world.firm),
        NewRequest(category=category, description="执照变更"),
        now=NOW - timedelta(hours=hours_ago),
    )
    return row.id


def _seed(factory: Factory, world: World) -> dict[str, list[int]]:
    """Five requests of Huangpu's market regulation, one unsure request, one old one."""
    made: dict[str, list[int]] = {"answered": [], "open": []}
    with unit_of_work(factory) as session:
        # Answered after 10, 20, 30 and 40 hours; the first two confirmed and rated 5 and 3.
        for n, hours in enumerate((10.0, 20.0, 30.0, 40.0)):
            rid = _file(session, world, hours_ago=200)
            service.answer_request(
                session,
                world.market_huangpu,
                rid,
                answer="已办",
                now=NOW - timedelta(hours=200 - hours),
            )
            if n < 2:
                service.confirm_request(session, world.firm, rid, now=NOW - timedelta(hours=100))
                service.rate_request(
                    session, world.firm, rid, score=(5, 3)[n], now=NOW - timedelta(hours=100)
                )
            made["answered"].append(rid)
        # The last answered one is reopened by the filer: back to the department, a new limit.
        service.reopen_request(session, world.firm, made["answered"][3], reason="没解决", now=NOW)
        # One still open and past its limit (filed 20 days ago, 5 working days).
        made["open"].append(_file(session, world, hours_ago=480))
        # One the classifier was unsure of: it waits for a dispatcher.
        service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(description="不知道找谁"),
            now=NOW - timedelta(hours=1),
            classify=fixed("ent-licence", 0.3),
        )
        # Filed before the period: not counted.
        _file(session, world, hours_ago=24 * 40)
    return made


def test_the_figures_count_volume_on_time_handling_reopens_and_ratings(
    session_factory: Factory, world: World
) -> None:
    made = _seed(session_factory, world)
    with session_factory() as session:
        found = figures_service.get_figures(session, world.dispatcher, now=NOW, days=30)

    assert found.total == 6
    assert found.enterprise == 6
    assert [(c.code, c.count) for c in found.by_category] == [("ent-licence", 6)]
    assert [(c.code, c.count) for c in found.by_district] == [("310101", 6)]
    assert {(c.code, c.count) for c in found.by_department} == {
        ("t.310101.market", 5),
        (None, 1),  # the unsure one waits for a dispatcher
    }
    # Nothing is answered without routing (no knowledge base answers yet).
    assert found.answered_at_once == 0
    assert found.answered_at_once_share == 0
    # Due: three answered or closed (all within 5 working days) and one open past its limit;
    # the reopened one is open again and not yet past its new limit.
    assert (found.on_time, found.due) == (3, 4)
    # Handling time of the answered and closed: 10, 20, 30 hours.
    assert found.handled == 3
    assert found.median_hours == pytest.approx(20.0, abs=0.1)
    assert found.p90_hours == pytest.approx(30.0, abs=0.1)
    assert (found.reopened, found.answered) == (1, 4)
    assert found.reopen_rate == 0.25
    assert found.rated == 2
    assert found.mean_rating == 4.0
    assert found.ratings == {1: 0, 2: 0, 3: 1, 4: 0, 5: 1}
    assert made["open"]


def test_a_request_answered_without_routing_counts_as_answered_at_once(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        rid = _file(session, world, hours_ago=5)
        # What an answer from a knowledge base leaves in the history: answered, never routed.
        session.query(RequestStep).filter(RequestStep.request_id == rid).delete()
        session.add(
            RequestStep(
                request_id=rid,
                at=NOW - timedelta(hours=5),
                action="answer",
                from_status="pending",
                to_status="answered",
                details={},
            )
        )
        row = service.get_request_row(session, rid)
        row.status = "answered"
        row.department_id = None
        _file(session, world, hours_ago=3)
    with session_factory() as session:
        found = figures.compute(session, since=NOW - timedelta(days=1), until=NOW, now=NOW)

    assert (found.answered_at_once, found.enterprise) == (1, 2)
    assert found.answered_at_once_share == 0.5


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11])
def test_median_and_90th_percentile_agree_with_python(
    session_factory: Factory, world: World, n: int
) -> None:
    hours = [float(3 * i * i + 1) for i in range(n)]
    with unit_of_work(session_factory) as session:
        for h in hours:
            rid = _file(session, world, hours_ago=500)
            service.answer_request(
                session,
                world.market_huangpu,
                rid,
                answer="已办",
                now=NOW - timedelta(hours=500 - h),
            )
    with session_factory() as session:
        found = figures.compute(session, since=NOW - timedelta(days=30), until=NOW, now=NOW)

    ranked = sorted(hours)
    assert found.median_hours == pytest.approx(statistics.median(hours), abs=0.1)
    assert found.p90_hours == pytest.approx(ranked[-(-9 * n // 10) - 1], abs=0.1)


def test_an_empty_period_has_no_shares(session_factory: Factory, world: World) -> None:
    with session_factory() as session:
        found = figures_service.get_figures(session, world.dispatcher, now=NOW, days=7)

    assert found.total == 0
    assert found.on_time_rate is None
    assert found.median_hours is None
    assert found.mean_rating is None


def test_only_dispatchers_and_supervisors_see_the_figures(
    session_factory: Factory, world: World
) -> None:
    with unit_of_work(session_factory) as session:
        supervisor = auth.principal_of(create_staff(session, roles=(Role.SUPERVISOR,)))
    with session_factory() as session:
        assert figures_service.get_figures(session, supervisor, now=NOW).total == 0
        for outsider in (world.market_huangpu, world.firm, world.resident):
            with pytest.raises(Forbidden):
                figures_service.get_figures(session, outsider, now=NOW)
        with pytest.raises(Invalid) as bad:
            figures_service.get_figures(session, world.dispatcher, now=NOW, days=0)
        assert bad.value.errors[0].field == "days"


def test_the_figures_route_answers_overseers_and_refuses_staff(
    client: TestClient, app: FastAPI, session_factory: Factory, world: World
) -> None:
    app.state.clock = lambda: NOW
    _seed(session_factory, world)
    dispatcher = bearer(client, world.dispatcher.username)
    answer = client.get("/api/v1/requests/figures?days=30", headers=dispatcher)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 6
    assert body["on_time"] == {"count": 3, "due": 4, "rate": 0.75}
    assert body["satisfaction"]["distribution"]["5"] == 1
    assert client.get("/api/v1/requests/figures?days=0", headers=dispatcher).status_code == 422

    staff = bearer(client, world.market_huangpu.username)
    refused = client.get("/api/v1/requests/figures", headers=staff)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

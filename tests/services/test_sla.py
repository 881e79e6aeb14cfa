"""Due times: the periodic job escalates overdue steps once (controlled clock); a restarted
server resumes applications from their stored state."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import World, build_world
from twonets.core.config import Settings
from twonets.core.db import unit_of_work
from twonets.core.models import OutboxEvent
from twonets.services import service
from twonets.services.service import processes


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    return build_world(app, client, session_factory)


def test_a_step_past_its_due_time_is_escalated_once(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = world.apply()
    world.clock.advance(hours=47)
    with unit_of_work(session_factory) as session:
        assert service.escalate_overdue(session, now=world.clock()) == 0

    world.clock.advance(hours=2)
    with unit_of_work(session_factory) as session:
        assert service.escalate_overdue(session, now=world.clock()) == 1
        assert service.escalate_overdue(session, now=world.clock()) == 0
        events = session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.topic == "services.task.escalated")
        ).all()
        assert events == ["services.task.escalated"]

    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    assert view["steps"][0]["escalated"] is True
    escalation = view["history"][-1]
    assert (escalation["action"], escalation["activity"]) == ("escalated", "confirm_charging_point")
    queue = world.ok("GET", "/tasks", "310101.operations")
    assert [(t["activity"], t["escalated"]) for t in queue] == [("confirm_charging_point", True)]


def test_a_step_waiting_on_the_applicant_is_not_escalated(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = world.apply()
    task = world.step(application, "confirm_charging_point")
    world.ok("POST", f"/tasks/{task}/claim", "310101.operations")
    world.ok(
        "POST",
        f"/tasks/{task}/return",
        "310101.operations",
        json={"missing": ["photo"], "reason": "看不清"},
    )
    world.clock.advance(days=10)

    with unit_of_work(session_factory) as session:
        assert service.escalate_overdue(session, now=world.clock()) == 0


def test_the_app_runs_the_escalation_as_scheduled_work(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    world.apply()
    world.clock.advance(days=3)
    [job] = [w for w in app.state.background if w.__qualname__.endswith("escalate")]

    async def run_once() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(job(stop))
        for _ in range(100):
            await asyncio.sleep(0.05)
            with unit_of_work(session_factory) as session:
                if service.escalate_overdue(session, now=world.clock()) == 0 and _escalated(
                    session
                ):
                    break
        stop.set()
        await task

    asyncio.run(run_once())

    with unit_of_work(session_factory) as session:
        assert _escalated(session)


def _escalated(session: Session) -> bool:
    from twonets.services.models import ServiceTask

    return session.scalar(select(ServiceTask.escalated_at)) is not None


def test_a_restarted_server_resumes_an_application_mid_way(
    world: World, settings: Settings, engine: Engine
) -> None:
    from twonets.web import create_app

    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="C")
    world.work(application, "allocate_plate", "sh.police", plate="沪AD00001")
    processes._PARSED.clear()  # nothing of the first server's engine is left

    restarted = create_app(settings, engine=engine, relay=False)
    restarted.state.clock = world.clock
    with TestClient(restarted) as client:
        world.client = client
        world.work(application, "register_vehicle", "sh.transport", registration_number="R-1")
        done = world.work(application, "issue_certificate", "sh.police")

    assert done["status"] == "completed"
    assert done["outcome"] == "issued"

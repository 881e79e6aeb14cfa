"""BPMN timers fired by the server's scheduled work at a controlled clock: a reminder that
escalates a step to another step, a time-out that ends it; the workflow state is stored
after each firing and a restarted server (a fresh engine) goes on from it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from services.process_files import with_deadlines
from services.services_world import World, build_world
from twonets.core.config import Settings
from twonets.core.db import unit_of_work
from twonets.services import engine as process_engine
from twonets.services import service
from twonets.services.models import Application
from twonets.services.service import processes


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    with unit_of_work(session_factory) as session:
        source = process_engine.ProcessSource(bpmn=with_deadlines(), name="deadlines.bpmn")
        service.deploy_process(session, source, actor="test", now=NOW)
    return built


def _apply(world: World) -> dict[str, Any]:
    body = {"process_id": "deadlines", "district_code": "310101", "data": {}}
    answer: dict[str, Any] = world.ok("POST", "/applications", "resident", json=body)
    return answer


def _fire(session_factory: sessionmaker[Session], world: World) -> int:
    with unit_of_work(session_factory) as session:
        return service.fire_timers(session, now=world.clock())


def _view(world: World, application: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = world.ok("GET", f"/applications/{application['id']}", "resident")
    return answer


def test_a_reminder_timer_escalates_the_step_when_it_is_due_and_not_before(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    with unit_of_work(session_factory) as session:
        stored = session.get(Application, application["id"])
        assert stored is not None
        assert stored.next_timer_at == NOW + timedelta(hours=24)

    world.clock.advance(hours=23)
    assert _fire(session_factory, world) == 0
    world.clock.advance(hours=2)
    assert _fire(session_factory, world) == 1
    assert _fire(session_factory, world) == 0  # fired once

    view = _view(world, application)
    assert {s["activity"]: s["status"] for s in view["steps"]} == {
        "review": "open",
        "escalation": "open",
    }
    fired = [h for h in view["history"] if h["action"] == "timer-fired"]
    assert [(h["activity"], h["detail"]) for h in fired] == [
        ("remind", "due 2026-12-01T09:00:00+00:00")
    ]
    queue = world.ok("GET", "/tasks", "sh.police")
    assert sorted(t["activity"] for t in queue) == ["escalation", "review"]


def test_a_step_done_in_time_leaves_no_timer_waiting(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    world.work(application, "review", "sh.police")
    world.clock.advance(days=5)

    assert _fire(session_factory, world) == 0
    view = _view(world, application)
    assert (view["status"], view["outcome"]) == ("completed", "reviewed")


def test_the_time_out_fires_on_a_restarted_server_from_the_stored_state(
    world: World, settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    from twonets.web import create_app

    application = _apply(world)
    world.clock.advance(hours=25)
    assert _fire(session_factory, world) == 1
    processes._PARSED.clear()  # nothing of the first server's engine is left

    restarted = create_app(settings, engine=engine, relay=False)
    restarted.state.clock = world.clock
    world.clock.advance(days=3)
    [job] = [w for w in restarted.state.background if w.__qualname__.endswith("escalate")]

    async def run_once() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(job(stop))
        for _ in range(100):
            await asyncio.sleep(0.05)
            with unit_of_work(session_factory) as session:
                stored = session.get(Application, application["id"])
                if stored is not None and stored.next_timer_at is None:
                    break
        stop.set()
        await task

    asyncio.run(run_once())

    with TestClient(restarted) as client:
        world.client = client
        view = _view(world, application)
        steps = {s["activity"]: s["status"] for s in view["steps"]}
        assert steps == {"review": "closed", "escalation": "open"}
        fired = [h["activity"] for h in view["history"] if h["action"] == "timer-fired"]
        assert fired == ["remind", "give_up"]
        done = world.work(application, "escalation", "sh.police")

    assert done["status"] == "completed"
    assert done["outcome"] == "timed-out"


def test_a_refused_application_has_no_timer_left(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    task = world.step(application, "review")
    world.ok("POST", f"/tasks/{task}/claim", "sh.police")
    world.ok("POST", f"/tasks/{task}/reject", "sh.police", json={"reason": "不符合条件"})
    world.clock.advance(days=5)

    assert _fire(session_factory, world) == 0
    assert _view(world, application)["status"] == "rejected"

"""A timer whose follow-on work fails for one application: the others in the batch go on;
the failure is kept with its error and attempts, retried with back-off, then parked where
staff see it, and the services' desk retries it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from services.process_files import with_fragile_follow_on
from services.services_world import World, build_world
from twonets.core.db import unit_of_work
from twonets.core.http import TOKEN_COOKIE
from twonets.services import engine as process_engine
from twonets.services import service
from twonets.services.models import Application
from twonets.services.service import timers


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    with unit_of_work(session_factory) as session:
        source = process_engine.ProcessSource(bpmn=with_fragile_follow_on(), name="fragile.bpmn")
        service.deploy_process(session, source, actor="test", now=NOW)
    return built


def _apply(world: World, divisor: int) -> int:
    body = {"process_id": "fragile", "district_code": "310101", "data": {"divisor": divisor}}
    answer: dict[str, Any] = world.ok("POST", "/applications", "resident", json=body)
    return int(answer["id"])


def _fire(session_factory: sessionmaker[Session], world: World) -> int:
    with unit_of_work(session_factory) as session:
        return service.fire_timers(session, now=world.clock())


def _stored(session_factory: sessionmaker[Session], application_id: int) -> Application:
    with unit_of_work(session_factory) as session:
        found = session.get(Application, application_id)
        assert found is not None
        session.expunge(found)
        return found


def _view(world: World, application_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = world.ok("GET", f"/applications/{application_id}", "resident")
    return answer


def test_one_failing_application_stops_neither_the_batch_nor_the_others(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    # The failing one is first in the batch (same due time, lowest id).
    broken, fine, also_fine = _apply(world, 0), _apply(world, 4), _apply(world, 5)
    world.clock.advance(hours=25)
    assert _fire(session_factory, world) == 2

    assert _view(world, fine)["outcome"] == "shared"
    assert _view(world, also_fine)["outcome"] == "shared"
    failed = _stored(session_factory, broken)
    assert failed.status == "running"
    assert failed.timer_attempts == 1
    assert failed.timer_error is not None
    assert "ZeroDivisionError" in failed.timer_error
    assert failed.timer_parked_at is None
    # Nothing of the failed run was kept: no audit entry of a timer that fired.
    assert [h["action"] for h in _view(world, broken)["history"]] == ["applied"]
    assert failed.next_timer_at == world.clock() + timers.FIRST_BACKOFF


def test_retried_with_back_off_then_parked_and_retried_by_the_desk(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    broken = _apply(world, 0)
    world.clock.advance(hours=25)
    _fire(session_factory, world)
    # Not again before its back-off has passed.
    world.clock.advance(seconds=30)
    _fire(session_factory, world)
    assert _stored(session_factory, broken).timer_attempts == 1

    waits = []
    for _ in range(timers.MAX_ATTEMPTS - 1):
        due = _stored(session_factory, broken).next_timer_at
        assert due is not None
        waits.append(due - world.clock())
        world.clock.now = due
        _fire(session_factory, world)
    assert waits[1:] == [timers.FIRST_BACKOFF * 2**n for n in range(1, timers.MAX_ATTEMPTS - 1)]
    parked = _stored(session_factory, broken)
    assert parked.timer_attempts == timers.MAX_ATTEMPTS
    assert parked.timer_parked_at == world.clock()
    # Parked: the scheduled work leaves it alone however late it gets.
    world.clock.advance(days=2)
    _fire(session_factory, world)
    assert _stored(session_factory, broken).timer_attempts == timers.MAX_ATTEMPTS
    assert "timer-parked" in [h["action"] for h in _view(world, broken)["history"]]

    [seen] = world.ok("GET", "/timers/parked", "sh.police")
    assert (seen["application_id"], seen["attempts"]) == (broken, timers.MAX_ATTEMPTS)
    assert "ZeroDivisionError" in seen["error"]

    # Police staff may see the list but not retry; a resident does neither.
    assert world.call("POST", f"/timers/{broken}/retry", "sh.police").status_code == 403
    assert world.call("POST", f"/timers/{broken}/retry", "resident").status_code == 403
    assert world.call("GET", "/timers/parked", "resident").status_code == 403
    # The figures page shows it; the desk retries it there.
    client = world.client
    client.cookies.set(TOKEN_COOKIE, world.tokens["sh.police"])
    page = client.get("/services/figures")
    assert page.status_code == 200
    assert "ZeroDivisionError" in page.text
    assert 'data-testid="retry"' not in page.text  # police may not retry
    client.cookies.set(TOKEN_COOKIE, world.tokens["sh.services"])
    assert 'data-testid="retry"' in client.get("/services/figures").text
    retried = client.post(f"/services/timers/{broken}/retry", follow_redirects=False)
    assert retried.status_code == 303
    client.cookies.clear()
    assert world.ok("GET", "/timers/parked", "sh.police") == []
    assert world.call("POST", f"/timers/{broken}/retry", "sh.services").status_code == 409
    _fire(session_factory, world)
    again = _stored(session_factory, broken)
    assert (again.timer_attempts, again.timer_parked_at) == (1, None)
    assert "timer-retried" in [h["action"] for h in _view(world, broken)["history"]]


def test_a_success_after_a_failure_clears_the_error(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    broken = _apply(world, 0)
    world.clock.advance(hours=25)
    _fire(session_factory, world)
    with unit_of_work(session_factory) as session:
        row = session.get(Application, broken)
        assert row is not None
        workflow = process_engine.loads(row.state)
        for task in workflow.get_tasks():
            task.data["divisor"] = 10
        row.state = process_engine.dumps(workflow)
    world.clock.advance(minutes=1)
    assert _fire(session_factory, world) == 1
    healed = _stored(session_factory, broken)
    assert (healed.timer_attempts, healed.timer_error, healed.status) == (0, None, "completed")
    assert timedelta(0) <= world.clock() - NOW

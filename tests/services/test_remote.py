"""A step worked by another region's department: a signed request (Shanghai's key), a signed
reply (Jiangsu's key), both kept; the time-out is a BPMN timer, and a reply after it is
refused naming when it fired; only the asked region's department may answer."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW
from services.process_files import with_remote_step
from services.services_world import World, add_jiangsu, build_world
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden
from twonets.services import engine as process_engine
from twonets.services import service
from twonets.services.models import RemoteMessage
from twonets.services.remote import InProcessTransport
from twonets.services.service import remote


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    add_jiangsu(built, app, session_factory)
    with unit_of_work(session_factory) as session:
        source = process_engine.ProcessSource(bpmn=with_remote_step(), name="delta.bpmn")
        service.deploy_process(session, source, actor="test", now=NOW)
    return built


def _apply(world: World) -> dict[str, Any]:
    body = {"process_id": "delta_years", "district_code": "310101", "data": {}}
    answer: dict[str, Any] = world.ok("POST", "/applications", "resident", json=body)
    return answer


def _send(app: FastAPI, session_factory: sessionmaker[Session], world: World) -> int:
    with unit_of_work(session_factory) as session:
        return service.send_pending(
            session, InProcessTransport(), app.state.secret_key, now=world.clock()
        )


def _messages(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with unit_of_work(session_factory) as session:
        rows = session.scalars(select(RemoteMessage).order_by(RemoteMessage.id)).all()
        return [(m.kind, m.from_region, m.to_region, m.status) for m in rows]


def test_the_other_region_answers_a_signed_request_with_a_signed_reply(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    [step] = application["steps"]
    assert step["lane"] == "JS:social-security"
    assert world.ok("GET", "/tasks", "sh.hrss") == []  # not the city's queue
    assert _messages(session_factory) == [("request", "SH", "JS", "pending")]

    assert _send(app, session_factory, world) == 1
    [waiting] = world.ok("GET", "/remote/inbox", "js.hrss")
    assert waiting["request"]["subject"]["applicant_id_number"] == world.resident_id_number
    assert waiting["request"]["asks"] == ["contribution_years_delta"]
    assert world.ok("GET", "/remote/inbox", "sh.hrss") == []

    world.clock.advance(hours=30)
    answer = world.ok(
        "POST",
        f"/remote/requests/{waiting['message_id']}/reply",
        "js.hrss",
        json={"data": {"contribution_years_delta": 4}},
    )

    assert answer == {"application_id": application["id"], "status": "running"}
    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    assert {s["activity"]: s["status"] for s in view["steps"]} == {
        "confirm_delta_years": "done",
        "compute": "open",
    }
    replied = [h for h in view["history"] if h["action"] == "remote-replied"]
    assert [(h["activity"], h["department_code"]) for h in replied] == [
        ("confirm_delta_years", "js.hrss")
    ]
    assert _messages(session_factory) == [
        ("request", "SH", "JS", "answered"),
        ("reply", "JS", "SH", "accepted"),
    ]
    with unit_of_work(session_factory) as session:
        reply = session.scalars(select(RemoteMessage).where(RemoteMessage.kind == "reply")).one()
        assert reply.jws is not None
        payload = remote.verify(
            session, app.state.secret_key, reply.jws, region="JS", now=world.clock()
        )
        assert payload["data"] == {"contribution_years_delta": 4}


def test_only_the_asked_regions_department_may_answer(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    _apply(world)
    _send(app, session_factory, world)
    with unit_of_work(session_factory) as session:
        message_id = session.scalars(select(RemoteMessage.message_id)).one()

    for who in ("sh.hrss", "js.police", "sh.police"):
        refused = world.call(
            "POST", f"/remote/requests/{message_id}/reply", who, json={"data": {"x": 1}}
        )
        assert refused.status_code == 403, (who, refused.text)
    assert world.call("GET", "/remote/inbox", "resident").status_code == 403


def test_a_reply_signed_by_another_region_is_refused(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    _apply(world)
    _send(app, session_factory, world)
    with unit_of_work(session_factory) as session:
        message_id = session.scalars(select(RemoteMessage.message_id)).one()
        forged = remote._sign(
            session,
            app.state.secret_key,
            "SH",
            {"kind": "reply", "in_reply_to": message_id, "data": {"contribution_years_delta": 40}},
            world.clock(),
        )
        with pytest.raises(Forbidden, match="signed by SH, not by JS"):
            service.receive_reply(session, app.state.secret_key, forged, now=world.clock())


def test_the_time_out_goes_on_without_the_reply_and_a_late_reply_is_refused(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    _send(app, session_factory, world)
    [waiting] = world.ok("GET", "/remote/inbox", "js.hrss")

    world.clock.advance(days=5, hours=1)
    with unit_of_work(session_factory) as session:
        assert service.fire_timers(session, now=world.clock()) == 1

    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    assert {s["activity"]: s["status"] for s in view["steps"]} == {
        "confirm_delta_years": "closed",
        "compute": "open",
    }
    assert [h["activity"] for h in view["history"] if h["action"] == "timer-fired"] == ["no_reply"]
    assert _messages(session_factory) == [("request", "SH", "JS", "timed-out")]
    assert world.ok("GET", "/remote/inbox", "js.hrss") == []

    late = world.call(
        "POST",
        f"/remote/requests/{waiting['message_id']}/reply",
        "js.hrss",
        json={"data": {"contribution_years_delta": 4}},
    )

    assert late.status_code == 409, late.text
    assert "after the time-out at 2026-12-05T10:00:00+00:00" in late.json()["detail"]
    assert _messages(session_factory) == [("request", "SH", "JS", "timed-out")]
    done = world.work(application, "compute", "sh.hrss")
    assert done["status"] == "completed"


def test_the_scheduled_work_sends_pending_requests(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    import asyncio

    _apply(world)
    [job] = [w for w in app.state.background if w.__qualname__.endswith("escalate")]

    async def run_once() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(job(stop))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if _messages(session_factory)[0][3] == "sent":
                break
        stop.set()
        await task

    asyncio.run(run_once())

    assert _messages(session_factory) == [("request", "SH", "JS", "sent")]

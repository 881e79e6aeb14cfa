"""Retirement's Jiangsu step between two deployments: Shanghai POSTs a signed request to the
Jiangsu platform's inbox, Jiangsu's social security answers there, and the signed reply is
POSTed back and completes the step. Both messages are kept on both sides. When Jiangsu cannot
be reached the request stays pending and the step's time-out (a BPMN timer) goes on without
it; a reply after the time-out is refused by Shanghai, and Jiangsu records the refusal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_staff
from regions.world import Served, anchor_of, platform
from services.process_files import with_remote_step
from services.services_world import World, build_world
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.db import make_session_factory, unit_of_work
from twonets.core.models import DepartmentLevel
from twonets.services import engine as process_engine
from twonets.services import service
from twonets.services.models import ReceivedRequest, RemoteMessage
from twonets.services.remote import InProcessTransport
from twonets.services.service import remote


@dataclass
class Delta:
    """Shanghai (the test's app, also served over HTTP) and Jiangsu's own platform."""

    world: World
    sh: Served
    js_app: FastAPI
    js: Served

    def js_rows(self) -> list[ReceivedRequest]:
        with unit_of_work(make_session_factory(self.js_app.state.engine)) as session:
            rows = session.scalars(select(ReceivedRequest).order_by(ReceivedRequest.id)).all()
            session.expunge_all()
            return list(rows)


def _social_security(session: Session, code: str, region: str) -> Any:
    return core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function="social-security",
        level=DepartmentLevel.CITY,
        region_code=region,
        district_code=None,
    )


@pytest.fixture
def delta(
    app: FastAPI, client: TestClient, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Delta]:
    world = build_world(app, client, session_factory)
    with unit_of_work(session_factory) as session:
        account = create_staff(
            session, username="clerk.sh.hrss", department=_social_security(session, "sh.hrss", "SH")
        )
        world.tokens["sh.hrss"] = auth.issue_token(
            session, account, now=world.clock(), ttl=timedelta(days=60)
        )
        source = process_engine.ProcessSource(bpmn=with_remote_step(), name="delta.bpmn")
        service.deploy_process(session, source, actor="test", now=world.clock())
    js_app = platform(tmp_path / "js", "JS", world.clock)  # type: ignore[arg-type]
    with unit_of_work(make_session_factory(js_app.state.engine)) as session:
        create_staff(
            session, username="js.hrss.clerk", department=_social_security(session, "js.hrss", "JS")
        )
    sh, js = Served(app), Served(js_app)
    try:
        # Each administrator recognises the other region by its anchor and URL.
        body = {"region": "JS", "url": js.url, "anchor": anchor_of(js_app, "JS")}
        assert sh.call("POST", "/trust/remote-regions", "admin", json=body).status_code == 201
        body = {"region": "SH", "url": sh.url, "anchor": anchor_of(app, "SH")}
        assert js.call("POST", "/trust/remote-regions", "js.admin", json=body).status_code == 201
        yield Delta(world, sh, js_app, js)
    finally:
        js.stop()
        sh.stop()
        js_app.state.engine.dispose()


def _apply(world: World) -> dict[str, Any]:
    body = {"process_id": "delta_years", "district_code": "310101", "data": {}}
    answer: dict[str, Any] = world.ok("POST", "/applications", "resident", json=body)
    return answer


def _send(app: FastAPI, session_factory: sessionmaker[Session], world: World) -> int:
    """What the scheduled work does: sign pending requests, post them to Jiangsu's inbox."""
    with unit_of_work(session_factory) as session:
        return service.send_pending(
            session, InProcessTransport(), app.state.secret_key, now=world.clock()
        )


def _messages(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with unit_of_work(session_factory) as session:
        rows = session.scalars(select(RemoteMessage).order_by(RemoteMessage.id)).all()
        return [(m.kind, m.from_region, m.to_region, m.status) for m in rows]


def test_the_jiangsu_step_goes_over_http_and_its_signed_reply_completes_it(
    app: FastAPI, delta: Delta, session_factory: sessionmaker[Session]
) -> None:
    world = delta.world
    application = _apply(world)
    assert _send(app, session_factory, world) == 1
    assert _messages(session_factory) == [("request", "SH", "JS", "sent")]

    # In Jiangsu's own platform: the request, verified under Shanghai's fetched keys.
    inbox = delta.js.call("GET", "/services/remote/inbox", "js.hrss.clerk")
    assert inbox.status_code == 200, inbox.text
    [waiting] = inbox.json()
    assert waiting["request"]["subject"]["applicant_id_number"] == world.resident_id_number
    assert delta.js.call("GET", "/services/remote/inbox", "js.clerk").json() == []
    wrong = delta.js.call(
        "POST",
        f"/services/remote/requests/{waiting['message_id']}/reply",
        "js.clerk",
        json={"data": {"contribution_years_delta": 4}},
    )
    assert wrong.status_code == 403

    answer = delta.js.call(
        "POST",
        f"/services/remote/requests/{waiting['message_id']}/reply",
        "js.hrss.clerk",
        json={"data": {"contribution_years_delta": 4}},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"application_id": application["id"], "status": "running"}

    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    steps = {s["activity"]: s["status"] for s in view["steps"]}
    assert steps == {"confirm_delta_years": "done", "compute": "open"}
    assert _messages(session_factory) == [
        ("request", "SH", "JS", "answered"),
        ("reply", "JS", "SH", "accepted"),
    ]
    # Both messages kept on both sides: Shanghai's reply row verifies under Jiangsu's key.
    with unit_of_work(session_factory) as session:
        reply = session.scalars(select(RemoteMessage).where(RemoteMessage.kind == "reply")).one()
        assert reply.jws is not None
        payload = remote.verify(
            session, app.state.secret_key, reply.jws, region="JS", now=world.clock()
        )
        assert payload["data"] == {"contribution_years_delta": 4}
    [kept] = delta.js_rows()
    assert (kept.status, kept.department_code) == ("delivered", "js.hrss")
    assert kept.reply_jws == reply.jws


def test_with_jiangsu_down_the_request_waits_and_the_time_out_goes_on(
    app: FastAPI, delta: Delta, session_factory: sessionmaker[Session]
) -> None:
    world = delta.world
    application = _apply(world)
    delta.js.stop()
    assert _send(app, session_factory, world) == 0
    assert _send(app, session_factory, world) == 0  # tried again, signed once
    assert _messages(session_factory) == [("request", "SH", "JS", "pending")]

    world.clock.advance(days=5, hours=1)
    with unit_of_work(session_factory) as session:
        assert service.fire_timers(session, now=world.clock()) == 1
    assert _messages(session_factory) == [("request", "SH", "JS", "timed-out")]
    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    steps = {s["activity"]: s["status"] for s in view["steps"]}
    assert steps == {"confirm_delta_years": "closed", "compute": "open"}


def test_a_reply_after_the_time_out_is_refused_and_jiangsu_keeps_the_refusal(
    app: FastAPI, delta: Delta, session_factory: sessionmaker[Session]
) -> None:
    world = delta.world
    _apply(world)
    assert _send(app, session_factory, world) == 1
    [waiting] = delta.js.call("GET", "/services/remote/inbox", "js.hrss.clerk").json()
    world.clock.advance(days=5, hours=1)
    with unit_of_work(session_factory) as session:
        assert service.fire_timers(session, now=world.clock()) == 1

    late = delta.js.call(
        "POST",
        f"/services/remote/requests/{waiting['message_id']}/reply",
        "js.hrss.clerk",
        json={"data": {"contribution_years_delta": 4}},
    )

    assert late.status_code == 200, late.text
    assert late.json()["status"] == "refused"
    [kept] = delta.js_rows()
    assert kept.status == "refused"
    assert kept.reply_jws is not None
    assert "after the time-out" in (kept.detail or "")
    assert _messages(session_factory) == [("request", "SH", "JS", "timed-out")]


def test_the_inbox_refuses_a_message_no_recognised_region_signed(delta: Delta) -> None:
    import httpx2 as httpx

    header = "eyJ0eXAiOiJ0d29uZXRzLXNlcnZpY2UtbWVzc2FnZStqd3MiLCJraWQiOiJBQUFBIn0"
    body = "eyJraW5kIjoicmVxdWVzdCIsImZyb20iOiJTSCIsInRvIjoiSlMifQ"
    forged = f"{header}.{body}.c2lnbmF0dXJl"
    # A fresh server's first request may take seconds on a loaded machine: the refusal is
    # what is judged, not its speed.
    answer = httpx.post(
        f"{delta.js.url}/api/v1/services/remote/messages", json={"jws": forged}, timeout=60
    )
    assert answer.status_code in (403, 404, 422), answer.text  # e.g. "no trusted region lists key"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert delta.js_rows() == []

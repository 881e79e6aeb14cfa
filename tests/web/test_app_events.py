"""The app's outbox relay: a registration over HTTP reaches in-process handlers and NATS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from builders import PASSWORD, create_department, create_staff, next_id_number
from twonets.core.config import Settings
from twonets.core.db import make_session_factory, unit_of_work
from twonets.core.events import Event, InProcessBus
from twonets.web import create_app

NATS_URL = os.environ.get("TWONETS_TEST_NATS_URL", "nats://127.0.0.1:4222")


def _register(client: TestClient, engine: Engine) -> None:
    """The population register's keeper enters a resident over HTTP."""
    with unit_of_work(make_session_factory(engine)) as session:
        police = create_department(session, function="police")
        clerk = create_staff(session, department=police).username
    token = client.post("/api/v1/auth/token", json={"username": clerk, "password": PASSWORD})
    response = client.post(
        "/api/v1/citizens",
        json={"id_number": next_id_number(), "name": "孙八"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert response.status_code == 201, response.text


def test_the_running_app_relays_to_in_process_handlers(settings: Settings, engine: Engine) -> None:
    seen: list[Event] = []
    bus = InProcessBus()
    bus.subscribe("core.citizen.*", seen.append)
    settings = settings.model_copy(update={"outbox_poll_seconds": 0.05})
    with TestClient(create_app(settings, engine=engine, bus=bus)) as client:
        _register(client, engine)
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [e.topic for e in seen] == ["core.citizen.registered"]
    assert set(seen[0].payload) == {"citizen_id"}


async def _fetch(prefix: str, stream: str) -> list[dict[str, object]]:
    import nats

    nc = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        # The relay creates the stream on its first publish, which may come a moment later.
        deadline = time.monotonic() + 10
        while True:
            try:
                await js.stream_info(stream)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)
        sub = await js.pull_subscribe(f"{prefix}.>", durable=None, stream=stream)
        messages = await sub.fetch(1, timeout=10)
        return [json.loads(m.data) for m in messages]
    finally:
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream)
        await nc.close()


async def _reachable() -> str | None:
    import nats

    async def quiet(exc: Exception) -> None:
        """Connection errors are reported by the skip reason."""

    try:
        nc = await asyncio.wait_for(
            nats.connect(NATS_URL, connect_timeout=2, allow_reconnect=False, error_cb=quiet),
            timeout=5,
        )
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await nc.close()
    return None


@pytest.mark.services
def test_the_running_app_publishes_to_jetstream(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("one backend is enough for the NATS path")
    problem = asyncio.run(_reachable())
    if problem:
        message = f"NATS at {NATS_URL} is not available ({problem})"
        if os.environ.get("TWONETS_REQUIRE_SERVICES") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    run = uuid.uuid4().hex[:12]
    stream, prefix = f"TWONETS_APP_{run}", f"twonets_app_{run}"
    settings = settings.model_copy(
        update={
            "events_url": NATS_URL,
            "events_stream": stream,
            "events_subject_prefix": prefix,
            "outbox_poll_seconds": 0.05,
        }
    )
    with TestClient(create_app(settings, engine=engine)) as client:
        _register(client, engine)
        bodies = asyncio.run(_fetch(prefix, stream))
    assert [b["topic"] for b in bodies] == ["core.citizen.registered"]

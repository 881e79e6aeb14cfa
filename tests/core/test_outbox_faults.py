"""NATS down: the outbox keeps the events and delivers them, in order and once, when it returns.

A NATS server of the test's own (``nats-server`` with JetStream, on a free port, its store
in a temporary folder) is stopped and started again, so that the shared server other tests
use is never disturbed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from conftest import unavailable
from local_servers import free_port, wait_until_listening
from twonets.core.db import unit_of_work
from twonets.core.events import Event, NatsJetStreamPublisher, OutboxRelay, record_event
from twonets.core.models import OutboxEvent

STREAM = "FAULTS"
PREFIX = "faults"


class NatsServer:
    """A private nats-server with JetStream that a test can stop and start."""

    def __init__(self, binary: str, store: Path) -> None:
        self.binary, self.store, self.port = binary, store, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until_listening(self.port, self.process, "the private nats-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(binary).exists():
        unavailable("nats-server", "the binary is not installed")
    server = NatsServer(binary, tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


def _record(factory: sessionmaker[Session], first: int, count: int) -> list[str]:
    with unit_of_work(factory) as session:
        return [record_event(session, "faults.tick", {"n": n}) for n in range(first, first + count)]


def _undelivered(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        query = select(func.count()).where(OutboxEvent.dispatched_at.is_(None))
        return int(session.scalar(query) or 0)


async def _stream(url: str) -> list[dict[str, Any]]:
    import nats

    connection = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=1)
    try:
        subscription = await connection.jetstream().pull_subscribe(
            f"{PREFIX}.>", durable=None, stream=STREAM
        )
        bodies: list[dict[str, Any]] = []
        while True:
            try:
                batch = await subscription.fetch(100, timeout=1)
            except TimeoutError:
                return bodies
            bodies += [json.loads(m.data) for m in batch]
    finally:
        await connection.close()


def test_events_written_while_nats_is_down_arrive_in_order_once_it_returns(
    engine: Engine, session_factory: sessionmaker[Session], nats_server: NatsServer
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the outbox is the same on both databases; one is enough for NATS")
    publisher = NatsJetStreamPublisher(nats_server.url, stream=STREAM, subject_prefix=PREFIX)
    relay = OutboxRelay(session_factory, [publisher])

    async def scenario() -> list[str]:
        ids = _record(session_factory, 0, 5)
        assert await relay.relay_once() == 5
        nats_server.stop()
        ids += _record(session_factory, 5, 10)
        # Down for longer than the client's reconnect attempts: nothing leaves, nothing is lost.
        for _ in range(3):
            assert await relay.relay_once() == 0
            await asyncio.sleep(1)
        assert _undelivered(session_factory) == 10
        nats_server.start()
        deadline = time.monotonic() + 30
        while _undelivered(session_factory) and time.monotonic() < deadline:
            await relay.relay_once()
            await asyncio.sleep(0.2)
        # A publish whose acknowledgement was lost is sent again: the stream keeps it once.
        with session_factory() as session:
            last = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
            assert last is not None
            await publisher.publish(Event(last.event_id, last.topic, last.payload, last.created_at))
        await publisher.close()
        return ids

    ids = asyncio.run(scenario())
    assert _undelivered(session_factory) == 0
    bodies = asyncio.run(_stream(nats_server.url))
    assert [b["event_id"] for b in bodies] == ids
    assert [b["payload"]["n"] for b in bodies] == list(range(15))

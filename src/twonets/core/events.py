"""Events between domains: a transactional outbox, in-process dispatch, and NATS JetStream.

A use case calls ``record_event`` inside its own transaction, so an event exists exactly when
the change it announces was committed. The ``OutboxRelay`` later reads undelivered events in
order and hands each to its publishers: always the in-process bus (handlers of other domains
in this process) and, when ``TWONETS_EVENTS_URL`` is set, NATS JetStream for consumers outside
the process. An event is marked delivered only when every publisher took it; otherwise it is
retried, so handlers must be idempotent (JetStream drops the duplicates by ``Nats-Msg-Id``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import utcnow
from twonets.core.errors import Invalid
from twonets.core.models import OutboxEvent

log = logging.getLogger(__name__)

MAX_TOPIC_LENGTH = 128
TOPIC_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class Event:
    """One event as publishers and handlers see it."""

    event_id: str
    topic: str
    payload: dict[str, Any]
    created_at: datetime

    def to_json(self) -> bytes:
        """The event as a JSON document (the NATS message body)."""
        return json.dumps(
            {
                "event_id": self.event_id,
                "topic": self.topic,
                "payload": self.payload,
                "created_at": self.created_at.isoformat(),
            },
            ensure_ascii=False,
            sort_keys=True,
        ).encode()


def _check_topic(topic: str) -> None:
    if (
        not topic
        or len(topic) > MAX_TOPIC_LENGTH
        or set(topic) - TOPIC_CHARS
        or topic.startswith(".")
        or topic.endswith(".")
        or ".." in topic
    ):
        raise Invalid.field("topic", "topic", f"not a dotted lower-case name: {topic!r}")


def record_event(
    session: Session, topic: str, payload: dict[str, Any], *, now: datetime | None = None
) -> str:
    """Add an event to the outbox in the caller's transaction; returns its id."""
    _check_topic(topic)
    event_id = str(uuid.uuid4())
    session.add(
        OutboxEvent(
            event_id=event_id,
            topic=topic,
            payload=payload,
            created_at=now or utcnow(),
        )
    )
    return event_id


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


def record_events(
    session: Session,
    topic: str,
    payloads: Sequence[dict[str, Any]],
    *,
    now: datetime | None = None,
) -> list[str]:
    """Add many events of one topic to the outbox in the caller's transaction, in order;
    returns their ids.

    The same rows as ``record_event`` once per payload, written in one go: ``COPY`` on
    PostgreSQL, one executemany elsewhere. Events added earlier in the session are flushed
    first, so the outbox keeps the order in which they were recorded.
    """
    _check_topic(topic)
    if not payloads:
        return []
    created_at = now or utcnow()
    event_ids = [str(uuid.uuid4()) for _ in payloads]
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # COPY's text format, built here and sent in one write: the thread holding the
        # session then gives up the interpreter lock once per batch, not once per row.
        created = created_at.isoformat()
        dumps = json.dumps
        data = "".join(
            f"{event_id}\t{topic}\t{_copy_text(dumps(payload))}\t{created}\t0\n"
            for event_id, payload in zip(event_ids, payloads, strict=True)
        ).encode()
        table = OutboxEvent.__tablename__
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with (
            cursor,
            cursor.copy(
                f"COPY {table} (event_id, topic, payload, created_at, attempts) FROM STDIN"
            ) as copy,
        ):
            copy.write(data)
    else:
        session.execute(
            insert(OutboxEvent),
            [
                {
                    "event_id": event_id,
                    "topic": topic,
                    "payload": payload,
                    "created_at": created_at,
                    "attempts": 0,
                }
                for event_id, payload in zip(event_ids, payloads, strict=True)
            ],
        )
    return event_ids


Handler = Callable[[Event], Awaitable[None] | None]


def topic_matches(pattern: str, topic: str) -> bool:
    """NATS-style matching: ``*`` matches one token, a final ``>`` one or more."""
    want = pattern.split(".")
    have = topic.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)


class Publisher(Protocol):
    """Something that takes events out of the outbox."""

    async def publish(self, event: Event) -> None:
        """Deliver one event or raise."""


@dataclass
class InProcessBus:
    """Handlers in this process, subscribed by topic pattern."""

    handlers: list[tuple[str, Handler]] = field(default_factory=list)

    def subscribe(self, pattern: str, handler: Handler) -> None:
        """Call ``handler`` for each event whose topic matches ``pattern``."""
        self.handlers.append((pattern, handler))

    async def publish(self, event: Event) -> None:
        """Run every matching handler; the first failure propagates (the event is retried)."""
        for pattern, handler in self.handlers:
            if topic_matches(pattern, event.topic):
                result = handler(event)
                if result is not None:
                    await result


class NatsJetStreamPublisher:
    """Publishes events to a JetStream stream whose subjects are ``<prefix>.<topic>``."""

    def __init__(self, url: str, *, stream: str, subject_prefix: str = "twonets") -> None:
        self.url = url
        self.stream = stream
        self.subject_prefix = subject_prefix
        self._nc: Any = None
        self._js: Any = None

    async def connect(self) -> None:
        """Connect and make sure the stream exists (created on first use)."""
        import nats
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=3)
        self._js = self._nc.jetstream()
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(name=self.stream, subjects=[f"{self.subject_prefix}.>"])

    def subject(self, topic: str) -> str:
        """The NATS subject that carries ``topic``."""
        return f"{self.subject_prefix}.{topic}"

    async def publish(self, event: Event) -> None:
        """Publish and wait for the stream's acknowledgement.

        A connection that gave up reconnecting (the server was away longer than the client's
        attempts) is replaced by a new one, so that the relay recovers when NATS returns
        without a restart of the platform.
        """
        if self._nc is not None and self._nc.is_closed:
            self._nc, self._js = None, None
        if self._js is None:
            await self.connect()
        await self._js.publish(
            self.subject(event.topic),
            event.to_json(),
            headers={"Nats-Msg-Id": event.event_id},
            timeout=5,
        )

    async def close(self) -> None:
        """Drain and close the connection."""
        if self._nc is not None:
            await self._nc.drain()
            self._nc = None
            self._js = None


class OutboxRelay:
    """Moves committed events from the outbox to the publishers, in order."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        publishers: Sequence[Publisher],
        *,
        batch_size: int = 200,
    ) -> None:
        self.factory = factory
        self.publishers = list(publishers)
        self.batch_size = batch_size

    def _pending(self) -> list[Event]:
        # Columns, not ORM objects: the relay reads every event once, and loading each into
        # the identity map cost more than delivering it.
        with self.factory() as session:
            rows = session.execute(
                select(
                    OutboxEvent.event_id,
                    OutboxEvent.topic,
                    OutboxEvent.payload,
                    OutboxEvent.created_at,
                )
                .where(OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self.batch_size)
            ).all()
            return [
                Event(event_id, topic, dict(payload), created_at)
                for event_id, topic, payload, created_at in rows
            ]

    def _mark(self, delivered: list[str], failed: tuple[str, str] | None) -> None:
        with self.factory() as session, session.begin():
            now = utcnow()
            if delivered:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.event_id.in_(delivered))
                    .values(dispatched_at=now, attempts=OutboxEvent.attempts + 1)
                    .execution_options(synchronize_session=False)
                )
            if failed is not None:
                failing = session.scalar(
                    select(OutboxEvent).where(OutboxEvent.event_id == failed[0])
                )
                if failing is not None:
                    failing.attempts += 1
                    failing.last_error = failed[1][:2000]

    async def relay_once(self) -> int:
        """Deliver one batch; stop at the first failure so that order is kept."""
        events = await asyncio.to_thread(self._pending)
        delivered: list[str] = []
        failed: tuple[str, str] | None = None
        for event in events:
            try:
                for publisher in self.publishers:
                    await publisher.publish(event)
            except Exception as exc:  # any publisher failure: keep the event for a retry
                log.warning("event %s (%s) not delivered: %s", event.event_id, event.topic, exc)
                failed = (event.event_id, f"{type(exc).__name__}: {exc}")
                break
            delivered.append(event.event_id)
        await asyncio.to_thread(self._mark, delivered, failed)
        return len(delivered)

    async def run(self, stop: asyncio.Event, *, poll_seconds: float) -> None:
        """Relay until ``stop`` is set, polling when the outbox is empty."""
        while not stop.is_set():
            try:
                count = await self.relay_once()
            except Exception:  # the database may be briefly away: log and poll again
                log.exception("outbox relay failed")
                count = 0
            if count == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)

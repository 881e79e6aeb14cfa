"""Events between domains: the outbox, topic matching, the in-process bus, the relay, JetStream."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import unit_of_work
from twonets.core.errors import Invalid
from twonets.core.events import (
    Event,
    InProcessBus,
    NatsJetStreamPublisher,
    OutboxRelay,
    record_event,
    record_events,
    topic_matches,
)
from twonets.core.models import OutboxEvent

NATS_URL = os.environ.get("TWONETS_TEST_NATS_URL", "nats://127.0.0.1:4222")
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


# --- helpers -----------------------------------------------------------------------------------


def _unavailable(name: str, reason: str) -> NoReturn:
    """Skip, or fail under TWONETS_REQUIRE_SERVICES=1, because ``name`` cannot be reached."""
    message = f"{name} is not available ({reason})"
    if os.environ.get("TWONETS_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and TWONETS_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _record(
    factory: sessionmaker[Session],
    topic: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> str:
    """Record one event in its own committed transaction; returns its id."""
    with unit_of_work(factory) as session:
        return record_event(session, topic, payload, now=now)


def _rows(factory: sessionmaker[Session], event_ids: list[str]) -> dict[str, OutboxEvent]:
    with factory() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_id.in_(event_ids)))
        return {row.event_id: row for row in rows}


def _outbox_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(OutboxEvent)) or 0


def _event(topic: str = "core.thing.happened", **payload: Any) -> Event:
    return Event(str(uuid.uuid4()), topic, dict(payload), T0)


class FakePublisher:
    """Records what it was given; raises for the event ids in ``fail_on``."""

    def __init__(self, *, fail_on: set[str] | None = None) -> None:
        self.seen: list[Event] = []
        self.fail_on: set[str] = set(fail_on or ())

    async def publish(self, event: Event) -> None:
        if event.event_id in self.fail_on:
            raise RuntimeError(f"broker down for {event.event_id}")
        self.seen.append(event)

    @property
    def ids(self) -> list[str]:
        return [e.event_id for e in self.seen]


# --- record_event ------------------------------------------------------------------------------


def test_record_event_is_visible_only_once_the_callers_transaction_commits(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        event_id = record_event(session, "core.citizen.registered", {"citizen_id": 7}, now=T0)
        session.flush()
        # Still inside the caller's transaction: nobody else sees the event yet.
        assert _rows(session_factory, [event_id]) == {}
        session.commit()

    row = _rows(session_factory, [event_id])[event_id]
    assert uuid.UUID(event_id)
    assert row.topic == "core.citizen.registered"
    assert row.payload == {"citizen_id": 7}
    assert row.created_at == T0
    assert row.dispatched_at is None
    assert row.attempts == 0
    assert row.last_error is None


def test_record_event_defaults_created_at_to_now(session_factory: sessionmaker[Session]) -> None:
    before = datetime.now(UTC)
    event_id = _record(session_factory, "core.x", {})
    after = datetime.now(UTC)

    created = _rows(session_factory, [event_id])[event_id].created_at
    assert created.tzinfo is not None
    assert before - timedelta(seconds=1) <= created <= after + timedelta(seconds=1)


def test_record_event_rolled_back_leaves_no_row(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        record_event(session, "core.citizen.registered", {"citizen_id": 1})
        session.flush()
        session.rollback()

    def failing_use_case() -> None:
        with unit_of_work(session_factory) as session:
            record_event(session, "core.citizen.registered", {"citizen_id": 2})
            raise RuntimeError("use case failed")

    with pytest.raises(RuntimeError, match="use case failed"):
        failing_use_case()

    assert _outbox_count(session_factory) == 0


def test_record_event_ids_are_unique(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        ids = [record_event(session, "core.x", {"n": n}) for n in range(5)]
    assert len(set(ids)) == 5
    assert _outbox_count(session_factory) == 5


@pytest.mark.parametrize("topic", ["", "Core.X", "a..b", ".a", "a b", "core.*", "core.>"])
def test_record_event_rejects_a_bad_topic(topic: str) -> None:
    session = Session()
    with pytest.raises(Invalid) as caught:
        record_event(session, topic, {})
    assert not session.new

    error = caught.value
    assert [problem.field for problem in error.errors] == ["topic"]
    assert "topic" in error.detail
    assert error.status == 422


def test_record_event_rejects_a_trailing_dot() -> None:
    with pytest.raises(Invalid):
        record_event(Session(), "core.x.", {})


@pytest.mark.parametrize("topic", ["core", "core.citizen.registered", "rent-bike_2.x9"])
def test_record_event_accepts_dotted_lower_case_topics(topic: str) -> None:
    session = Session()
    record_event(session, topic, {})
    assert [row.topic for row in session.new] == [topic]


# --- topic_matches -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("core.citizen.registered", "core.citizen.registered", True),
        ("core.citizen.registered", "core.citizen.moved", False),
        ("core.citizen", "core.citizen.registered", False),
        ("core.citizen.registered", "core.citizen", False),
        ("core.*.registered", "core.citizen.registered", True),
        ("core.*.registered", "core.firm.registered", True),
        ("core.*.registered", "core.citizen.moved", False),
        ("core.*", "core.citizen", True),
        ("core.*", "core.citizen.registered", False),
        ("core.*", "core", False),
        ("*", "core", True),
        ("*", "core.x", False),
        ("core.>", "core.citizen", True),
        ("core.>", "core.citizen.registered", True),
        ("core.>", "core", False),
        ("core.>", "trust.citizen", False),
        (">", "core", True),
        (">", "core.citizen.registered", True),
        ("*.citizen.>", "core.citizen.registered", True),
        ("*.citizen.>", "core.citizen", False),
        ("*.citizen.>", "core.firm.registered", False),
    ],
)
def test_topic_matches(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8)
_tokens = st.lists(_token, min_size=1, max_size=5)


@settings(database=None, max_examples=200)
@given(tokens=_tokens)
def test_a_topic_always_matches_itself(tokens: list[str]) -> None:
    topic = ".".join(tokens)
    assert topic_matches(topic, topic)


@settings(database=None, max_examples=200)
@given(prefix=_tokens, rest=_tokens)
def test_a_final_gt_matches_the_prefix_plus_one_or_more_tokens(
    prefix: list[str], rest: list[str]
) -> None:
    pattern = ".".join([*prefix, ">"])
    assert topic_matches(pattern, ".".join(prefix + rest))
    assert not topic_matches(pattern, ".".join(prefix))


@settings(database=None, max_examples=200)
@given(tokens=_tokens, index=st.integers(min_value=0, max_value=10), other=_token)
def test_a_star_matches_exactly_one_token(tokens: list[str], index: int, other: str) -> None:
    i = index % len(tokens)
    pattern = ".".join([*tokens[:i], "*", *tokens[i + 1 :]])
    assert topic_matches(pattern, ".".join([*tokens[:i], other, *tokens[i + 1 :]]))
    assert not topic_matches(pattern, ".".join([*tokens, other]))
    assert not topic_matches(pattern, ".".join([*tokens[:i], other, other, *tokens[i + 1 :]]))


# --- InProcessBus ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_bus_runs_sync_and_async_handlers_that_match() -> None:
    bus = InProcessBus()
    calls: list[tuple[str, str]] = []

    def sync_handler(event: Event) -> None:
        calls.append(("sync", event.topic))

    async def async_handler(event: Event) -> None:
        await asyncio.sleep(0)
        calls.append(("async", event.topic))

    def unrelated(event: Event) -> None:
        calls.append(("unrelated", event.topic))

    async def unrelated_async(event: Event) -> None:
        calls.append(("unrelated_async", event.topic))

    bus.subscribe("core.citizen.*", sync_handler)
    bus.subscribe("core.>", async_handler)
    bus.subscribe("trust.>", unrelated)
    bus.subscribe("core.citizen", unrelated_async)

    await bus.publish(_event("core.citizen.registered"))

    assert calls == [("sync", "core.citizen.registered"), ("async", "core.citizen.registered")]


@pytest.mark.asyncio
async def test_bus_passes_the_event_and_propagates_a_handler_failure() -> None:
    bus = InProcessBus()
    got: list[Event] = []

    async def failing(event: Event) -> None:
        raise ValueError("handler broke")

    bus.subscribe("core.x", got.append)
    bus.subscribe("core.x", failing)
    event = _event("core.x", n=1)

    with pytest.raises(ValueError, match="handler broke"):
        await bus.publish(event)
    assert got == [event]


# --- OutboxRelay.relay_once --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_relay_delivers_in_id_order_to_every_publisher_and_marks_rows(
    session_factory: sessionmaker[Session],
) -> None:
    # created_at runs backwards, so ordering by time (or by the random ids) would show.
    ids = [
        _record(session_factory, f"core.step.n{n}", {"n": n}, now=T0 - timedelta(minutes=n))
        for n in range(6)
    ]
    first, second = FakePublisher(), FakePublisher()
    relay = OutboxRelay(session_factory, [first, second])

    assert await relay.relay_once() == 6

    assert first.ids == ids
    assert second.ids == ids
    assert [(e.topic, e.payload) for e in first.seen] == [
        (f"core.step.n{n}", {"n": n}) for n in range(6)
    ]
    assert first.seen[2].created_at == T0 - timedelta(minutes=2)
    rows = _rows(session_factory, ids)
    assert all(row.dispatched_at is not None for row in rows.values())
    assert all(row.attempts == 1 and row.last_error is None for row in rows.values())

    assert await relay.relay_once() == 0
    assert first.ids == ids
    assert second.ids == ids


@pytest.mark.asyncio
async def test_relay_on_an_empty_outbox_delivers_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    publisher = FakePublisher()
    assert await OutboxRelay(session_factory, [publisher]).relay_once() == 0
    assert publisher.seen == []


@pytest.mark.asyncio
async def test_relay_stops_at_a_failure_and_resumes_in_order(
    session_factory: sessionmaker[Session],
) -> None:
    ids = [_record(session_factory, "core.x", {"n": n}) for n in range(3)]
    healthy = FakePublisher()
    flaky = FakePublisher(fail_on={ids[1]})
    relay = OutboxRelay(session_factory, [healthy, flaky])

    assert await relay.relay_once() == 1

    assert flaky.ids == [ids[0]]
    assert ids[2] not in healthy.ids
    rows = _rows(session_factory, ids)
    assert rows[ids[0]].dispatched_at is not None
    assert rows[ids[0]].attempts == 1
    assert rows[ids[1]].dispatched_at is None
    assert rows[ids[1]].attempts == 1
    assert rows[ids[1]].last_error == f"RuntimeError: broker down for {ids[1]}"
    assert rows[ids[2]].dispatched_at is None
    assert rows[ids[2]].attempts == 0
    assert rows[ids[2]].last_error is None

    flaky.fail_on.clear()
    assert await relay.relay_once() == 2

    assert flaky.ids == ids
    rows = _rows(session_factory, ids)
    assert all(row.dispatched_at is not None for row in rows.values())
    assert rows[ids[1]].attempts == 2
    assert rows[ids[2]].attempts == 1
    assert await relay.relay_once() == 0


@pytest.mark.asyncio
async def test_relay_respects_the_batch_size(session_factory: sessionmaker[Session]) -> None:
    ids = [_record(session_factory, "core.x", {"n": n}) for n in range(5)]
    publisher = FakePublisher()
    relay = OutboxRelay(session_factory, [publisher], batch_size=2)

    assert [await relay.relay_once() for _ in range(4)] == [2, 2, 1, 0]
    assert publisher.ids == ids


@pytest.mark.asyncio
async def test_relay_feeds_the_in_process_bus(session_factory: sessionmaker[Session]) -> None:
    bus = InProcessBus()
    got: list[dict[str, Any]] = []
    bus.subscribe("core.citizen.>", lambda event: got.append(event.payload))
    _record(session_factory, "core.citizen.registered", {"citizen_id": 1})
    _record(session_factory, "trust.firm.registered", {"firm_id": 2})

    assert await OutboxRelay(session_factory, [bus]).relay_once() == 2
    assert got == [{"citizen_id": 1}]


# --- OutboxRelay.run ---------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_run_relays_then_stops_promptly_when_told(
    session_factory: sessionmaker[Session],
) -> None:
    event_id = _record(session_factory, "core.x", {})
    publisher = FakePublisher()
    stop = asyncio.Event()
    # A poll far longer than the test's patience: only the stop event can end the wait.
    task = asyncio.create_task(OutboxRelay(session_factory, [publisher]).run(stop, poll_seconds=60))
    try:

        async def delivered() -> None:
            while not publisher.seen:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(delivered(), timeout=5)
        await asyncio.sleep(0.05)  # let the relay reach its idle wait
        assert not task.done()
        stop.set()
        await asyncio.wait_for(task, timeout=3)
    finally:
        if not task.done():
            task.cancel()
    assert publisher.ids == [event_id]


@pytest.mark.asyncio
async def test_run_returns_at_once_when_already_stopped(
    session_factory: sessionmaker[Session],
) -> None:
    _record(session_factory, "core.x", {})
    publisher = FakePublisher()
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(
        OutboxRelay(session_factory, [publisher]).run(stop, poll_seconds=60), timeout=3
    )
    assert publisher.seen == []


# --- NATS JetStream ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_only(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """The session factory, but only on SQLite (the NATS test needs just one backend)."""
    if session_factory.kw["bind"].dialect.name != "sqlite":
        pytest.skip("the NATS round trip runs on the SQLite backend only")
    return session_factory


@pytest.mark.services
@pytest.mark.asyncio
async def test_jetstream_round_trip_and_deduplication(
    sqlite_only: sessionmaker[Session],
) -> None:
    import nats

    async def quiet(exc: Exception) -> None:
        """nats-py logs every failed attempt by default; the skip reason says enough."""

    problem = ""
    try:
        # One quick attempt: nats-py otherwise retries the first connect for minutes.
        nc = await asyncio.wait_for(
            nats.connect(
                NATS_URL,
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.1,
                error_cb=quiet,
            ),
            timeout=5,
        )
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        _unavailable(f"NATS at {NATS_URL}", problem)
    js = nc.jetstream()
    try:
        await js.account_info()
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        await nc.close()
        _unavailable(f"NATS JetStream at {NATS_URL}", problem)

    run = uuid.uuid4().hex[:12]
    stream, prefix = f"TWONETS_T_{run}", f"twonets_t_{run}"
    publisher = NatsJetStreamPublisher(NATS_URL, stream=stream, subject_prefix=prefix)
    try:
        sent = [
            ("core.citizen.registered", {"citizen_id": 1, "name": "张三"}),
            ("trust.firm.registered", {"firm_id": 2}),
            ("core.citizen.moved", {"citizen_id": 1, "district": "310101"}),
        ]
        ids = [_record(sqlite_only, topic, payload, now=T0) for topic, payload in sent]

        assert await OutboxRelay(sqlite_only, [publisher]).relay_once() == 3
        assert all(row.dispatched_at for row in _rows(sqlite_only, ids).values())

        sub = await js.pull_subscribe(f"{prefix}.>", durable=None, stream=stream)
        messages = await sub.fetch(3, timeout=5)
        assert [m.subject for m in messages] == [f"{prefix}.{topic}" for topic, _ in sent]
        assert [(m.headers or {}).get("Nats-Msg-Id") for m in messages] == ids
        bodies = [json.loads(m.data) for m in messages]
        assert bodies == [
            {
                "event_id": event_id,
                "topic": topic,
                "payload": payload,
                "created_at": T0.isoformat(),
            }
            for event_id, (topic, payload) in zip(ids, sent, strict=True)
        ]
        for message in messages:
            await message.ack()

        # A retried delivery of an event already published: JetStream drops it by Nats-Msg-Id.
        row = _rows(sqlite_only, [ids[0]])[ids[0]]
        await publisher.publish(Event(row.event_id, row.topic, dict(row.payload), row.created_at))
        assert (await js.stream_info(stream)).state.messages == 3
        # ... while a new event id on the same subject is stored (the check above can fail).
        await publisher.publish(_event(row.topic, n=4))
        assert (await js.stream_info(stream)).state.messages == 4
    finally:
        try:
            await publisher.close()
        finally:
            with contextlib.suppress(Exception):  # the stream may never have been created
                await js.delete_stream(stream)
            await nc.close()


def test_events_recorded_in_bulk_are_the_events_recorded_one_by_one(
    session_factory: sessionmaker[Session],
) -> None:
    """``record_events`` (COPY on PostgreSQL) stores each payload as ``record_event`` does,
    escapes included, after the events recorded before it in the same transaction."""
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    payloads: list[dict[str, Any]] = [
        {"plate": "沪D12345", "note": 'tab\there, "quoted", back\\slash', "n": 1.5},
        {"lines": "one\ntwo\r\nthree", "list": [1, None, True], "nested": {"a": {}}},
        {},
    ]
    with unit_of_work(session_factory) as session:
        first = record_event(session, "core.bulk", {"n": 0}, now=now)
        bulk = record_events(session, "core.bulk", payloads, now=now)
        single = [record_event(session, "core.single", p, now=now) for p in payloads]
    assert len(set(bulk)) == len(payloads)
    rows = _rows(session_factory, [first, *bulk, *single])
    assert [rows[e].payload for e in bulk] == payloads == [rows[e].payload for e in single]
    assert all(rows[e].created_at == now and rows[e].attempts == 0 for e in bulk)
    assert all(rows[e].dispatched_at is None for e in bulk)
    order = [rows[e].id for e in (first, *bulk, *single)]
    assert order == sorted(order)
    with pytest.raises(Invalid):
        record_events(session_factory(), "Not A Topic", payloads)

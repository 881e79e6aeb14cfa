"""The JT/T 808 gateway end to end: enrolled terminals over TCP, positions into the outbox and
the table; unknown terminals, stale codes and unauthenticated alarms turned away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from builders import create_staff, next_credit_code
from twonets.core.auth import Principal, principal_of
from twonets.core.db import make_session_factory, unit_of_work
from twonets.core.events import InProcessBus, OutboxRelay
from twonets.core.geo import gcj02_to_wgs84, locate_district, wgs84_to_gcj02
from twonets.core.models import OutboxEvent, Role
from twonets.operations.cases import catalogue
from twonets.operations.cases.models import Case
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import jt808
from twonets.operations.devices.gateway import DatabaseBackend, Gateway, MemoryBackend
from twonets.operations.devices.jt808 import CHINA_STANDARD_TIME, Frame, Header
from twonets.operations.devices.models import LastPosition, Terminal
from twonets.operations.devices.simulator import SIMULATED_FLEET_CREDIT_CODE, plan_trucks, simulate

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
# The People's Square, Huangpu, as a GNSS receiver reports it (WGS-84).
LON, LAT = 121.4691, 31.2286


class Terminal808:
    """A scripted vehicle terminal: sends frames, reads the platform's replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.framer = jt808.Framer()
        self.replies: list[Frame] = []
        self.serial = 0

    @classmethod
    async def connect(cls, port: int) -> Terminal808:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def frame(self, phone: str, body: jt808.Body, *, version: int | None = None) -> bytes:
        message_id = {
            jt808.Registration: 0x0100,
            jt808.Authentication: 0x0102,
            jt808.Location: 0x0200,
            jt808.BatchLocation: 0x0704,
            jt808.Heartbeat: 0x0002,
        }[type(body)]
        self.serial += 1
        return jt808.encode(Frame(Header(message_id, phone, self.serial, version), body))

    async def send(self, data: bytes, *, replies: int) -> list[Frame]:
        self.writer.write(data)
        await self.writer.drain()
        got: list[Frame] = []
        while len(got) < replies:
            chunk = await asyncio.wait_for(self.reader.read(4096), 10)
            assert chunk, "the gateway closed the connection"
            got.extend(jt808.decode(c) for c in self.framer.feed(chunk))
        return got

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


def _location(
    minutes: int, *, lon: float = LON, lat: float = LAT, alarm: int = 0
) -> jt808.Location:
    return jt808.Location(
        alarm_flags=alarm,
        status_flags=0b11,
        latitude_e6=round(lat * 1e6),
        longitude_e6=round(lon * 1e6),
        altitude_m=4,
        speed_dkmh=325,
        direction=90,
        time=(NOW + timedelta(minutes=minutes)).astimezone(CHINA_STANDARD_TIME),
        mileage=12345,
        satellites=11,
    )


REGISTRATION = jt808.Registration(31, 100, "SHMUC", "MT-808", "T000001", 2, "沪D12345")
CODE_TTL = timedelta(days=30)
Result = jt808.RegistrationResult


class Clock:
    """The gateway's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def operator(engine: Engine) -> Principal:
    """Operations staff who enrol terminals."""
    with unit_of_work(make_session_factory(engine)) as session:
        catalogue.ensure_elements(session)
        return principal_of(create_staff(session, roles=(Role.OPERATOR,)))


def enrol(engine: Engine, operator: Principal, phone: str, plate: str = "沪D12345") -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        device_enrolment.enrol_terminal(
            session, operator, phone=phone, plate=plate, credit_code=next_credit_code(), now=NOW
        )


def reset(engine: Engine, operator: Principal, phone: str) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        device_enrolment.reset_enrolment(session, operator, phone=phone, now=NOW)


@pytest_asyncio.fixture
async def gateway(engine: Engine, clock: Clock) -> AsyncIterator[Gateway]:
    factory = make_session_factory(engine)
    gateway = Gateway(DatabaseBackend(factory, clock=clock, code_ttl=CODE_TTL), clock=clock)
    await gateway.start()
    yield gateway
    await gateway.close()


def _cases(engine: Engine) -> list[Case]:
    with make_session_factory(engine)() as session:
        return list(session.scalars(select(Case)))


def _rows(factory: sessionmaker[Session]) -> tuple[list[OutboxEvent], list[LastPosition]]:
    with factory() as session:
        events = list(
            session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == "ops.device.location")
                .order_by(OutboxEvent.id)
            )
        )
        positions = list(session.scalars(select(LastPosition)))
        return events, positions


@pytest.mark.asyncio
async def test_register_authenticate_report_and_batch_upload(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    factory = make_session_factory(engine)
    phone = "13912345678"
    enrol(engine, operator, phone)
    term = await Terminal808.connect(gateway.port)
    try:
        # Registration: 0x8100 answering our serial, with an auth code.
        (reply,) = await term.send(term.frame(phone, REGISTRATION), replies=1)
        assert reply.header.message_id == 0x8100
        assert isinstance(reply.body, jt808.RegistrationReply)
        assert reply.body.reply_serial == 1
        assert reply.body.result == jt808.RegistrationResult.SUCCESS
        code = reply.body.auth_code
        assert code

        # A location before authenticating is refused, and nothing is stored.
        (refused,) = await term.send(term.frame(phone, _location(0)), replies=1)
        assert refused.body == jt808.GeneralResponse(2, 0x0200, jt808.GeneralResponse.FAILURE)
        assert _rows(factory) == ([], [])

        # A wrong code fails; the right one succeeds.
        (wrong,) = await term.send(term.frame(phone, jt808.Authentication("nope")), replies=1)
        assert wrong.body == jt808.GeneralResponse(3, 0x0102, jt808.GeneralResponse.FAILURE)
        (ok,) = await term.send(term.frame(phone, jt808.Authentication(code)), replies=1)
        assert ok.body == jt808.GeneralResponse(4, 0x0102, jt808.GeneralResponse.SUCCESS)

        # One report, then a heartbeat and a batch of two in the same write, with junk between.
        (ack,) = await term.send(term.frame(phone, _location(1, alarm=0b10)), replies=1)
        assert ack.body == jt808.GeneralResponse(5, 0x0200, jt808.GeneralResponse.SUCCESS)
        batch = jt808.BatchLocation(1, (_location(3, lon=121.5), _location(2, lon=121.4)))
        stream = (
            term.frame(phone, jt808.Heartbeat())
            + b"\x7e\x01\x02\x03\x7e"
            + term.frame(phone, batch)
            + jt808.encode(Frame(Header(0x0002, phone, 99), jt808.Heartbeat()))[:-2]
            + b"\x00\x7e"
        )
        replies = await term.send(stream, replies=2)
        assert [r.body for r in replies] == [
            jt808.GeneralResponse(6, 0x0002, 0),
            jt808.GeneralResponse(7, 0x0704, 0),
        ]
        # Platform serials count up per connection.
        assert [r.header.serial for r in [reply, refused, wrong, ok, ack, *replies]] == list(
            range(6 + 1)
        )
    finally:
        await term.close()

    assert gateway.stats.malformed["length"] == 1
    assert gateway.stats.malformed["checksum"] == 1
    assert gateway.stats.refused["unauthenticated"] == 1
    assert gateway.stats.refused["authentication"] == 1
    assert gateway.stats.positions == 3

    events, positions = _rows(factory)
    assert len(events) == 3
    first = events[0].payload
    assert first["terminal"] == phone
    assert first["plate"] == "沪D12345"
    assert first["wgs84"] == {"lon": LON, "lat": LAT}
    gcj = wgs84_to_gcj02(LON, LAT)
    assert first["gcj02"]["lon"] == pytest.approx(gcj[0], abs=1e-6)
    assert first["gcj02"]["lat"] == pytest.approx(gcj[1], abs=1e-6)
    # GCJ-02 is offset by a few hundred metres in Shanghai: the conversion really happened.
    assert abs(first["gcj02"]["lon"] - LON) > 0.003
    assert first["speed_kmh"] == 32.5
    assert first["heading"] == 90
    assert first["time"] == (NOW + timedelta(minutes=1)).isoformat()
    assert first["alarms"] == ["overspeed"]
    assert first["status"] == ["acc_on", "positioned"]
    assert first["mileage_km"] == 1234.5

    # The last position is the newest report, not the last one received.
    (last,) = positions
    assert last.lon == 121.5
    assert last.reported_at == NOW + timedelta(minutes=3)
    assert gcj02_to_wgs84(last.gcj_lon, last.gcj_lat) == pytest.approx((121.5, LAT), abs=1e-6)

    # The relay hands the events to in-process subscribers.
    seen: list[str] = []
    bus = InProcessBus()
    bus.subscribe("ops.device.*", lambda event: seen.append(event.payload["terminal"]))
    assert await OutboxRelay(factory, [bus]).relay_once() >= 3
    assert seen.count(phone) == 3


def _registration(reply: Frame) -> jt808.RegistrationReply:
    assert isinstance(reply.body, jt808.RegistrationReply)
    return reply.body


def _result(reply: Frame) -> int:
    assert isinstance(reply.body, jt808.GeneralResponse)
    return reply.body.result


@pytest.mark.asyncio
async def test_unknown_terminals_and_vehicles_are_refused_with_the_result_that_says_why(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    enrol(engine, operator, "1", plate="沪D12345")
    enrol(engine, operator, "2", plate="沪D67890")
    term = await Terminal808.connect(gateway.port)
    try:
        (unknown,) = await term.send(term.frame("13800000000", REGISTRATION), replies=1)
        other = jt808.Registration(31, 100, "SHMUC", "MT-808", "T9", 2, "沪D00000")
        (wrong_plate,) = await term.send(term.frame("1", other, version=1), replies=1)
        taken = jt808.Registration(31, 100, "SHMUC", "MT-808", "T9", 2, "沪D67890")
        (plate_of_2,) = await term.send(term.frame("1", taken), replies=1)
    finally:
        await term.close()

    assert _registration(unknown) == jt808.RegistrationReply(1, Result.NO_SUCH_TERMINAL, None)
    assert _registration(wrong_plate) == jt808.RegistrationReply(2, Result.NO_SUCH_VEHICLE, None)
    assert _registration(plate_of_2) == jt808.RegistrationReply(3, Result.VEHICLE_REGISTERED, None)
    assert gateway.stats.refused == {
        "unknown-terminal": 1,
        "unknown-vehicle": 1,
        "vehicle-registered": 1,
    }
    latest = gateway.stats.recent_refusals[-1]
    assert (latest.phone, latest.plate, latest.reason) == (
        "13800000000",
        "沪D12345",
        "unknown-terminal",
    )
    assert latest.at == NOW
    with make_session_factory(engine)() as session:
        # Nothing is stored for the unknown terminal, and no code was issued to anyone.
        assert sorted(session.scalars(select(Terminal.phone))) == ["1", "2"]
        assert session.scalars(select(Terminal.auth_code_hash)).all() == [None, None]


@pytest.mark.asyncio
async def test_registering_again_hands_out_no_code_until_staff_reset(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    enrol(engine, operator, "1")
    term = await Terminal808.connect(gateway.port)
    try:
        (first,) = await term.send(term.frame("1", REGISTRATION, version=1), replies=1)
        code = _registration(first).auth_code
        assert _registration(first).result == Result.SUCCESS
        assert code
        assert first.header.protocol_version == 1
        # A second registration (by the terminal, or by someone claiming to be it) gets no code.
        (again,) = await term.send(term.frame("1", REGISTRATION, version=1), replies=1)
        assert _registration(again) == jt808.RegistrationReply(2, Result.TERMINAL_REGISTERED)

        reset(engine, operator, "1")
        (fresh,) = await term.send(term.frame("1", REGISTRATION, version=1), replies=1)
        new_code = _registration(fresh).auth_code
        assert _registration(fresh).result == Result.SUCCESS
        assert new_code
        assert new_code != code
        old = jt808.Authentication(code, "862845051234567", "1.0")
        (refused,) = await term.send(term.frame("1", old, version=1), replies=1)
        new = jt808.Authentication(new_code, "862845051234567", "1.0")
        (accepted,) = await term.send(term.frame("1", new, version=1), replies=1)
    finally:
        await term.close()
    assert _result(refused) == jt808.GeneralResponse.FAILURE
    assert _result(accepted) == jt808.GeneralResponse.SUCCESS
    assert gateway.stats.refused["terminal-registered"] == 1
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(Terminal.auth_code_hash)).one()
    # Only a digest is kept, never the code.
    assert stored is not None
    assert new_code not in stored
    assert stored == device_enrolment.auth_code_digest(new_code)


@pytest.mark.asyncio
async def test_a_wrong_or_expired_code_fails_and_an_expired_one_is_replaced(
    gateway: Gateway, engine: Engine, operator: Principal, clock: Clock
) -> None:
    enrol(engine, operator, "13912345678")
    term = await Terminal808.connect(gateway.port)
    try:
        (reply,) = await term.send(term.frame("13912345678", REGISTRATION), replies=1)
        code = _registration(reply).auth_code or ""
        (wrong,) = await term.send(
            term.frame("13912345678", jt808.Authentication(code[:-1] + "x")), replies=1
        )
        (other_phone,) = await term.send(
            term.frame("13900000000", jt808.Authentication(code)), replies=1
        )
        clock.now = NOW + CODE_TTL + timedelta(seconds=1)
        (expired,) = await term.send(
            term.frame("13912345678", jt808.Authentication(code)), replies=1
        )
        (renewed,) = await term.send(term.frame("13912345678", REGISTRATION), replies=1)
        new_code = _registration(renewed).auth_code or ""
        (ok,) = await term.send(
            term.frame("13912345678", jt808.Authentication(new_code)), replies=1
        )
    finally:
        await term.close()
    assert [_result(r) for r in (wrong, other_phone, expired)] == [1, 1, 1]
    assert _registration(renewed).result == Result.SUCCESS
    assert new_code != code
    assert _result(ok) == 0
    assert gateway.stats.refused["authentication"] == 3


@pytest.mark.asyncio
async def test_alarms_from_unauthenticated_sessions_never_open_a_case(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    emergency, rollover = 1 << 0, 1 << 30
    enrol(engine, operator, "1")
    stranger = await Terminal808.connect(gateway.port)
    truck = await Terminal808.connect(gateway.port)
    try:
        # Someone who never registered sends an emergency alarm and a batch with a rollover.
        (alarm,) = await stranger.send(
            stranger.frame("13800000000", _location(0, alarm=emergency)), replies=1
        )
        batch = jt808.BatchLocation(0, (_location(1, alarm=rollover),))
        (batched,) = await stranger.send(stranger.frame("13800000000", batch), replies=1)
        # ... and then claims an enrolled terminal's number without its code.
        (guess,) = await stranger.send(
            stranger.frame("1", jt808.Authentication("0" * 24)), replies=1
        )
        (claimed,) = await stranger.send(
            stranger.frame("1", _location(2, alarm=rollover)), replies=1
        )

        # The enrolled truck registers and authenticates.
        (reg,) = await truck.send(truck.frame("1", REGISTRATION), replies=1)
        code = _registration(reg).auth_code or ""
        await truck.send(truck.frame("1", jt808.Authentication(code)), replies=1)
        # The stranger registers again as that truck: no code comes back to be used.
        (again,) = await stranger.send(stranger.frame("1", REGISTRATION), replies=1)
        stolen = jt808.Authentication(_registration(again).auth_code or "")
        (hijack_auth,) = await stranger.send(stranger.frame("1", stolen), replies=1)
        hijack_alarm = stranger.frame("1", _location(3, alarm=emergency))
        (hijack,) = await stranger.send(hijack_alarm, replies=1)
        # Staff reset the truck's enrolment: its session is over, alarms included.
        reset(engine, operator, "1")
        (stale,) = await truck.send(truck.frame("1", _location(4, alarm=emergency)), replies=1)
        (after,) = await truck.send(truck.frame("1", _location(5, alarm=rollover)), replies=1)
    finally:
        await stranger.close()
        await truck.close()

    assert _registration(again) == jt808.RegistrationReply(5, Result.TERMINAL_REGISTERED)
    refused = (alarm, batched, guess, claimed, hijack_auth, hijack, stale, after)
    assert [_result(r) for r in refused] == [1] * 8
    assert gateway.stats.refused["unauthenticated"] == 5
    assert gateway.stats.refused["superseded"] == 1
    assert gateway.stats.positions == 0
    assert _cases(engine) == []
    assert _rows(make_session_factory(engine)) == ([], [])


@pytest.mark.asyncio
async def test_an_enrolled_terminal_alarm_opens_a_case(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    enrol(engine, operator, "13912345678")
    term = await Terminal808.connect(gateway.port)
    try:
        (reg,) = await term.send(term.frame("13912345678", REGISTRATION), replies=1)
        code = _registration(reg).auth_code or ""
        await term.send(term.frame("13912345678", jt808.Authentication(code)), replies=1)
        (ack,) = await term.send(term.frame("13912345678", _location(0, alarm=1 << 30)), replies=1)
        # Another phone number on this authenticated connection is still refused.
        (other,) = await term.send(term.frame("2", _location(1, alarm=1)), replies=1)
    finally:
        await term.close()
    assert _result(ack) == 0
    assert _result(other) == 1
    (case,) = _cases(engine)
    assert case.category_code == "E0303"
    assert "沪D12345" in case.description


@pytest.mark.asyncio
async def test_a_broken_backend_fails_the_report_but_not_the_connection() -> None:
    class Flaky(MemoryBackend):
        fail = True

        async def publish(self, positions: object) -> frozenset[tuple[int, int]]:
            if self.fail:
                raise RuntimeError("database away")
            return await super().publish(positions)  # type: ignore[arg-type]

    backend = Flaky()
    backend.enrol("7", "沪D12345")
    gateway = Gateway(backend)
    await gateway.start()
    term = await Terminal808.connect(gateway.port)
    try:
        (reply,) = await term.send(term.frame("7", REGISTRATION), replies=1)
        assert isinstance(reply.body, jt808.RegistrationReply)
        await term.send(
            term.frame("7", jt808.Authentication(reply.body.auth_code or "")), replies=1
        )
        (failed,) = await term.send(term.frame("7", _location(0)), replies=1)
        assert isinstance(failed.body, jt808.GeneralResponse)
        assert failed.body.result == jt808.GeneralResponse.FAILURE
        backend.fail = False
        (stored,) = await term.send(term.frame("7", _location(0)), replies=1)
        assert isinstance(stored.body, jt808.GeneralResponse)
        assert stored.body.result == jt808.GeneralResponse.SUCCESS
        assert len(backend.positions) == 1
    finally:
        await term.close()
        await gateway.close()
    assert gateway.stats.open_connections == 0


@pytest.mark.asyncio
async def test_run_stops_gracefully_with_terminals_connected() -> None:
    gateway = Gateway(MemoryBackend())
    stop = asyncio.Event()
    task = asyncio.create_task(gateway.run(stop))
    for _ in range(100):
        if gateway._server is not None:
            break
        await asyncio.sleep(0.01)
    term = await Terminal808.connect(gateway.port)
    await term.send(term.frame("8", jt808.Heartbeat()), replies=1)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await term.reader.read() == b""  # the gateway closed our connection
    await term.close()


@pytest.mark.asyncio
async def test_a_silent_connection_is_closed() -> None:
    gateway = Gateway(MemoryBackend(), idle_timeout=0.2)
    await gateway.start()
    try:
        term = await Terminal808.connect(gateway.port)
        await term.send(term.frame("9", jt808.Heartbeat()), replies=1)
        assert await asyncio.wait_for(term.reader.read(), 5) == b""
        await term.close()
    finally:
        await gateway.close()
    assert gateway.stats.idle_closed == 1


@pytest.mark.asyncio
async def test_the_memory_backend_keeps_the_same_rules() -> None:
    backend = MemoryBackend()
    backend.enrol("7", "沪D12345")
    gateway = Gateway(backend)
    await gateway.start()
    term = await Terminal808.connect(gateway.port)
    try:
        (unknown,) = await term.send(term.frame("8", REGISTRATION), replies=1)
        (reply,) = await term.send(term.frame("7", REGISTRATION), replies=1)
        (again,) = await term.send(term.frame("7", REGISTRATION), replies=1)
        code = _registration(reply).auth_code or ""
        await term.send(term.frame("7", jt808.Authentication(code)), replies=1)
        (ack,) = await term.send(term.frame("7", _location(0)), replies=1)
        backend.reset("7")
        (stale,) = await term.send(term.frame("7", _location(1)), replies=1)
        (old,) = await term.send(term.frame("7", jt808.Authentication(code)), replies=1)
    finally:
        await term.close()
        await gateway.close()
    assert _registration(unknown).result == Result.NO_SUCH_TERMINAL
    assert _registration(again) == jt808.RegistrationReply(3, Result.TERMINAL_REGISTERED)
    assert [_result(r) for r in (ack, stale, old)] == [0, 1, 1]
    assert len(backend.positions) == 1
    assert code not in repr(backend.terminals)


@pytest.mark.asyncio
async def test_simulated_trucks_must_be_enrolled(gateway: Gateway) -> None:
    report = await simulate("127.0.0.1", gateway.port, terminals=2, reports=3, seed=5)
    assert report.registered == 0
    assert len(report.failures) == 2
    assert "result 4: not enrolled" in report.failures[0]


@pytest.mark.asyncio
async def test_simulated_trucks_report_through_the_gateway(
    gateway: Gateway, engine: Engine, operator: Principal
) -> None:
    trucks = plan_trucks(3, seed=5)
    with unit_of_work(make_session_factory(engine)) as session:
        done = device_enrolment.enrol_fleet(
            session,
            operator,
            credit_code=SIMULATED_FLEET_CREDIT_CODE,
            vehicles=[(t.phone, t.plate) for t in trucks],
            now=NOW,
        )
    assert (done.enrolled, done.reset) == (3, 0)
    report = await simulate(
        "127.0.0.1", gateway.port, terminals=3, reports=13, interval=0, version=1, seed=5
    )
    assert report.failures == []
    assert report.registered == 3
    assert report.positions == report.acknowledged == 39
    events, positions = _rows(make_session_factory(engine))
    assert len(events) == 39
    assert len(positions) == 3
    assert all(locate_district(p.lon, p.lat) is not None for p in positions)
    # Per truck: registration, authentication, ten reports, then one batch of three.
    assert gateway.stats.frames == 3 * (2 + 10 + 1)
    # A second run needs the fleet reset: the simulator keeps no codes between runs.
    with unit_of_work(make_session_factory(engine)) as session:
        again = device_enrolment.enrol_fleet(
            session,
            operator,
            credit_code=SIMULATED_FLEET_CREDIT_CODE,
            vehicles=[(t.phone, t.plate) for t in trucks],
            now=NOW,
            reset_enrolled=True,
        )
    assert (again.enrolled, again.reset) == (0, 3)
    second = await simulate("127.0.0.1", gateway.port, terminals=3, reports=1, seed=5)
    assert second.failures == []

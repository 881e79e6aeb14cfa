"""The JT/T 808 gateway end to end: a terminal over TCP, positions into the outbox and the table."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.db import make_session_factory
from twonets.core.events import InProcessBus, OutboxRelay
from twonets.core.geo import gcj02_to_wgs84, locate_district, wgs84_to_gcj02
from twonets.core.models import OutboxEvent
from twonets.operations import jt808
from twonets.operations.device_models import LastPosition, Terminal
from twonets.operations.device_simulator import simulate
from twonets.operations.gateway import DatabaseBackend, Gateway, MemoryBackend
from twonets.operations.jt808 import CHINA_STANDARD_TIME, Frame, Header

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


@pytest_asyncio.fixture
async def gateway(engine: Engine) -> AsyncIterator[Gateway]:
    factory = make_session_factory(engine)
    gateway = Gateway(DatabaseBackend(factory, clock=lambda: NOW))
    await gateway.start()
    yield gateway
    await gateway.close()


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
    gateway: Gateway, engine: Engine
) -> None:
    factory = make_session_factory(engine)
    phone = "13912345678"
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


@pytest.mark.asyncio
async def test_2019_terminals_and_a_second_terminal_cannot_take_a_plate(
    gateway: Gateway, engine: Engine
) -> None:
    first = await Terminal808.connect(gateway.port)
    second = await Terminal808.connect(gateway.port)
    try:
        (reply,) = await first.send(first.frame("1", REGISTRATION, version=1), replies=1)
        assert reply.header.protocol_version == 1
        assert isinstance(reply.body, jt808.RegistrationReply)
        assert reply.body.result == 0
        # Registering again returns the same code.
        (again,) = await first.send(first.frame("1", REGISTRATION, version=1), replies=1)
        assert again.body == reply.body.__class__(2, 0, reply.body.auth_code)
        (taken,) = await second.send(second.frame("2", REGISTRATION), replies=1)
        assert taken.body == jt808.RegistrationReply(1, 1, None)
        auth = jt808.Authentication(reply.body.auth_code or "", "862845051234567", "1.0")
        (ok,) = await first.send(first.frame("1", auth, version=1), replies=1)
        assert isinstance(ok.body, jt808.GeneralResponse)
        assert ok.body.result == 0
        # Reports under another phone number on an authenticated connection are refused.
        (other,) = await first.send(first.frame("2", _location(0), version=1), replies=1)
        assert isinstance(other.body, jt808.GeneralResponse)
        assert other.body.result == jt808.GeneralResponse.FAILURE
    finally:
        await first.close()
        await second.close()
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Terminal.phone)).all() == ["1"]


@pytest.mark.asyncio
async def test_a_broken_backend_fails_the_report_but_not_the_connection() -> None:
    class Flaky(MemoryBackend):
        fail = True

        async def publish(self, positions: object) -> None:
            if self.fail:
                raise RuntimeError("database away")
            await super().publish(positions)  # type: ignore[arg-type]

    backend = Flaky()
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
async def test_simulated_trucks_report_through_the_gateway(
    gateway: Gateway, engine: Engine
) -> None:
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

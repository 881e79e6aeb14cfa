"""Headline figures of the JT/T 808 gateway: reports decoded per second, events per second.

1. Codec, one core: location reports (with extra items, a fifth of them escaped) split from
   a stream and decoded. Baseline in the same run: only splitting the same bytes on 0x7e.
2. End to end over loopback TCP: N terminals, enrolled first (in memory, or in the
   database through the enrolment use case), register, authenticate, then push location
   reports (several frames per write, waiting for the acknowledgements like real terminals).
   Measured from the first report until the in-process bus has seen every event, through
   the gateway, one SQLite transaction per batch (outbox and last positions) and the outbox
   relay. Also measured: the gateway alone with an in-memory backend. Baseline in the same
   run: a TCP echo server sent the same bytes by the same clients.

    .venv/bin/python benchmarks/jt808_gateway.py [TERMINALS] [REPORTS_PER_TERMINAL]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from twonets import migrations
from twonets.core.auth import Principal
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.events import Event, InProcessBus, OutboxRelay
from twonets.core.ids import make_credit_code
from twonets.core.models import AccountKind, Role
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import jt808
from twonets.operations.devices.gateway import Backend, DatabaseBackend, Gateway, MemoryBackend

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=jt808.CHINA_STANDARD_TIME)
FRAMES_PER_WRITE = 10
TIME_LIMIT_SECONDS = 120.0
FLEET = make_credit_code(kind="1", region_code="310115", organisation_body="BENCH001")
# Who enrols the benchmark's terminals in the database (no account needed for the rule).
STAFF = Principal(0, "bench", "benchmark", AccountKind.STAFF, frozenset({Role.OPERATOR}))


def _phone(n: int) -> str:
    return f"1390{n:07d}"


def _plate(phone: str) -> str:
    return f"沪D{phone[-5:]}"


def _location(i: int) -> jt808.Location:
    return jt808.Location(
        alarm_flags=0,
        status_flags=0b11,
        latitude_e6=31_200_000 + i % 50_000,
        # Every fifth report carries a 0x7e byte, so that unescaping is exercised.
        longitude_e6=121_400_000 + (0x7E if i % 5 == 0 else i % 50_000),
        altitude_m=5,
        speed_dkmh=300 + i % 200,
        direction=i % 360,
        time=T0 + timedelta(seconds=i),
        mileage=100_000 + i,
        fuel=500,
        signal_strength=25,
        satellites=12,
    )


def _frame(phone: str, serial: int, body: jt808.Body, message_id: int) -> bytes:
    return jt808.encode(jt808.Frame(jt808.Header(message_id, phone, serial & 0xFFFF), body))


def codec_benchmark(count: int) -> None:
    """Decode ``count`` location reports from one stream; print rates and the ratio."""
    stream = b"".join(_frame("13900000000", i, _location(i), 0x0200) for i in range(count))
    started = time.perf_counter()
    chunks = [c for c in stream.split(b"\x7e") if c]
    baseline = time.perf_counter() - started
    assert len(chunks) == count
    started = time.perf_counter()
    framer = jt808.Framer()
    decoded = 0
    for i in range(0, len(stream), 65536):
        for chunk in framer.feed(stream[i : i + 65536]):
            jt808.decode(chunk)
            decoded += 1
    elapsed = time.perf_counter() - started
    assert decoded == count
    print(
        f"codec: {count / elapsed:,.0f} location reports decoded per second on one core "
        f"({len(stream) / count:.0f} bytes each); splitting on 0x7e alone "
        f"{count / baseline:,.0f}/s; decoding costs {elapsed / baseline:.0f}x the split"
    )


class _Client:
    def __init__(self, phone: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.phone = phone
        self.reader = reader
        self.writer = writer
        self.framer = jt808.Framer()
        self.serial = 0

    async def exchange(self, data: bytes, replies: int) -> list[bytes]:
        self.writer.write(data)
        await self.writer.drain()
        got: list[bytes] = []
        while len(got) < replies:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("closed")
            got.extend(self.framer.feed(chunk))
        return got


async def _login(port: int, phone: str) -> _Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = _Client(phone, reader, writer)
    registration = jt808.Registration(31, 0, "BENCH", "M", phone[-7:], 2, _plate(phone))
    (raw,) = await client.exchange(_frame(phone, 0, registration, 0x0100), 1)
    reply = jt808.decode(raw).body
    assert isinstance(reply, jt808.RegistrationReply)
    assert reply.auth_code
    (raw,) = await client.exchange(
        _frame(phone, 1, jt808.Authentication(reply.auth_code), 0x0102), 1
    )
    ack = jt808.decode(raw).body
    assert isinstance(ack, jt808.GeneralResponse)
    assert ack.result == 0
    return client


def _writes(phone: str, reports: int, offset: int) -> list[bytes]:
    frames = [_frame(phone, 2 + i, _location(offset + i), 0x0200) for i in range(reports)]
    return [b"".join(frames[i : i + FRAMES_PER_WRITE]) for i in range(0, reports, FRAMES_PER_WRITE)]


async def _push(clients: list[_Client], reports: int) -> float:
    """Every client pushes its reports, a write at a time; returns the seconds taken."""
    plans = {c.phone: _writes(c.phone, reports, n * reports) for n, c in enumerate(clients)}

    async def one(client: _Client) -> None:
        for data in plans[client.phone]:
            await client.exchange(data, data.count(b"\x7e") // 2)

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout=TIME_LIMIT_SECONDS)
    return time.perf_counter() - started


async def _gateway_run(
    backend: Backend, terminals: int, reports: int, until_done: Callable[[], Awaitable[None]]
) -> float:
    gateway = Gateway(backend)
    await gateway.start()
    try:
        clients = [await _login(gateway.port, _phone(n)) for n in range(terminals)]
        started = time.perf_counter()
        await _push(clients, reports)
        await asyncio.wait_for(until_done(), timeout=TIME_LIMIT_SECONDS)
        elapsed = time.perf_counter() - started
        for client in clients:
            client.writer.close()
        assert not gateway.stats.malformed, gateway.stats.malformed
        return elapsed
    finally:
        await gateway.close()


async def _echo_run(terminals: int, reports: int) -> float:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clients = []
    for n in range(terminals):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        clients.append(_Client(_phone(n), reader, writer))
    elapsed = await _push(clients, reports)
    for client in clients:
        client.writer.close()
    server.close()
    await server.wait_closed()
    return elapsed


async def end_to_end(terminals: int, reports: int) -> None:
    """Push ``terminals`` × ``reports`` reports; print events per second and the ratios."""
    total = terminals * reports
    echo = await _echo_run(terminals, reports)

    memory = MemoryBackend()
    for n in range(terminals):
        memory.enrol(_phone(n), _plate(_phone(n)))

    async def memory_done() -> None:
        while len(memory.positions) < total:
            await asyncio.sleep(0.001)

    in_memory = await _gateway_run(memory, terminals, reports, memory_done)

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        migrations.upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            device_enrolment.enrol_fleet(
                session,
                STAFF,
                credit_code=FLEET,
                vehicles=[(_phone(n), _plate(_phone(n))) for n in range(terminals)],
                now=datetime.now(UTC),
            )
        seen = 0

        def count(event: Event) -> None:
            nonlocal seen
            seen += 1

        bus = InProcessBus()
        bus.subscribe("ops.device.location", count)
        stop = asyncio.Event()
        relay = asyncio.create_task(
            OutboxRelay(factory, [bus], batch_size=1000).run(stop, poll_seconds=0.01)
        )

        async def bus_done() -> None:
            while seen < total:
                await asyncio.sleep(0.005)

        backend = DatabaseBackend(factory, clock=lambda: datetime.now(UTC))
        try:
            full = await _gateway_run(backend, terminals, reports, bus_done)
        finally:
            stop.set()
            await relay
            engine.dispose()
        batches = backend.batcher.batches

    print(
        f"end to end: {terminals} terminals x {reports} reports over loopback TCP, "
        f"{FRAMES_PER_WRITE} frames per write"
    )
    print(f"  TCP echo of the same bytes (baseline): {total / echo:,.0f} frames/s")
    print(
        f"  gateway, in-memory backend: {total / in_memory:,.0f} positions/s "
        f"({in_memory / echo:.1f}x the echo time)"
    )
    print(
        f"  gateway -> SQLite outbox -> relay -> in-process bus: {total / full:,.0f} events/s "
        f"({full / echo:.1f}x the echo time; {batches} transactions, "
        f"{total / max(batches, 1):.0f} positions each)"
    )


def main(argv: list[str]) -> None:
    """Run both benchmarks."""
    terminals = int(argv[0]) if argv else 50
    reports = int(argv[1]) if len(argv) > 1 else 200
    codec_benchmark(20_000)
    asyncio.run(end_to_end(terminals, reports))


if __name__ == "__main__":
    main(sys.argv[1:])

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

import argparse
import asyncio
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_db import database
from sqlalchemy import text

from twonets.core.auth import Principal
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.events import Event, InProcessBus, OutboxRelay
from twonets.core.ids import make_credit_code
from twonets.core.models import AccountKind, Role
from twonets.operations.devices import enrolment as device_enrolment
from twonets.operations.devices import jt808
from twonets.operations.devices.gateway import Backend, DatabaseBackend, Gateway, MemoryBackend

AIM_POSITIONS = 20_000
AIM_DECODED = 150_000
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


def codec_benchmark(count: int, rounds: int = 5) -> None:
    """Decode ``count`` location reports from one stream; print rates and the ratio.

    Both sides count CPU time (``time.process_time``), the best of ``rounds``: on a shared
    machine wall-clock time measures the neighbours as much as the code.
    """
    stream = b"".join(_frame("13900000000", i, _location(i), 0x0200) for i in range(count))
    baseline = elapsed = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        chunks = [c for c in stream.split(b"\x7e") if c]
        baseline = min(baseline, time.process_time() - started)
        assert len(chunks) == count
        started = time.process_time()
        framer = jt808.Framer()
        decoded = 0
        for i in range(0, len(stream), 65536):
            for chunk in framer.feed(stream[i : i + 65536]):
                jt808.decode(chunk)
                decoded += 1
        elapsed = min(elapsed, time.process_time() - started)
        assert decoded == count
    rate = count / elapsed
    print(
        f"codec: {rate:,.0f} location reports decoded per CPU second on one core "
        f"({len(stream) / count:.0f} bytes each, best of {rounds}); splitting on 0x7e alone "
        f"{count / baseline:,.0f}/s; decoding costs {elapsed / baseline:.0f}x the split; "
        f"aim >= {AIM_DECODED:,}/s: {'meets' if rate >= AIM_DECODED else 'misses'}"
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


async def _push(clients: list[_Client], reports: int) -> tuple[float, float]:
    """Every client pushes its reports, a write at a time, each waiting for its
    acknowledgements; returns when the first write went (``perf_counter`` and
    ``process_time``): the frames are made before, outside the time measured."""
    plans = {c.phone: _writes(c.phone, reports, n * reports) for n, c in enumerate(clients)}

    async def one(client: _Client) -> None:
        for data in plans[client.phone]:
            await client.exchange(data, data.count(b"\x7e") // 2)

    started = time.perf_counter(), time.process_time()
    await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout=TIME_LIMIT_SECONDS)
    return started


async def _gateway_run(
    backend: Backend, terminals: int, reports: int, until_done: Callable[[], Awaitable[None]]
) -> float:
    gateway = Gateway(backend)
    await gateway.start()
    try:
        clients = [await _login(gateway.port, _phone(n)) for n in range(terminals)]
        started, _ = await _push(clients, reports)
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
    started, _ = await _push(clients, reports)
    elapsed = time.perf_counter() - started
    for client in clients:
        client.writer.close()
    server.close()
    await server.wait_closed()
    return elapsed


def _bare_copy(url: str, total: int) -> float:
    """Seconds to COPY ``total`` outbox rows like the gateway's (a location payload each),
    in batches of 500, one transaction each: what PostgreSQL takes in on this machine with
    no gateway, codec or TCP in front."""
    payload = {
        "terminal": _phone(1),
        "plate": _plate(_phone(1)),
        "wgs84": {"lon": 121.45, "lat": 31.2},
        "gcj02": {"lon": 121.4544, "lat": 31.198},
        "speed_kmh": 30.0,
        "heading": 90,
        "altitude_m": 5,
        "time": T0.astimezone(UTC).isoformat(),
        "alarm_flags": 0,
        "alarms": [],
        "status_flags": 3,
        "status": ["acc_on", "positioned"],
        "mileage_km": 10000.0,
        "fuel_l": 50.0,
        "signal_strength": 25,
        "satellites": 12,
    }
    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            started = time.perf_counter()
            for start in range(0, total, 500):
                with (
                    driver.transaction(),
                    driver.cursor() as cursor,
                    cursor.copy(
                        "COPY outbox_event (event_id, topic, payload, created_at, attempts)"
                        " FROM STDIN"
                    ) as copy,
                ):
                    for _ in range(min(500, total - start)):
                        copy.write_row(
                            (str(uuid.uuid4()), "bench.copy", json.dumps(payload), now, 0)
                        )
            return time.perf_counter() - started
    finally:
        engine.dispose()


async def _database_run(
    kind: str, terminals: int, reports: int
) -> tuple[float, float, int, float | None, float]:
    """Seconds until every position was acknowledged (stored), until the bus saw every
    event, the number of transactions, (PostgreSQL) the seconds of the bare COPY, and the
    CPU seconds this process spent until every position was acknowledged."""
    total = terminals * reports
    with database(kind) as url:
        bare = _bare_copy(url, total) if kind == "postgresql" else None
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
        with unit_of_work(factory) as session:  # the baseline's rows are not the gateway's
            session.execute(text("DELETE FROM outbox_event WHERE topic = 'bench.copy'"))
        stop = asyncio.Event()
        relay = asyncio.create_task(
            OutboxRelay(factory, [bus], batch_size=1000).run(stop, poll_seconds=0.01)
        )
        backend = DatabaseBackend(factory, clock=lambda: datetime.now(UTC))
        gateway = Gateway(backend)
        await gateway.start()
        try:
            clients = [await _login(gateway.port, _phone(n)) for n in range(terminals)]
            started, cpu_started = await _push(clients, reports)
            stored = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            while seen < total:
                await asyncio.sleep(0.005)
            relayed = time.perf_counter() - started
            for client in clients:
                client.writer.close()
            assert not gateway.stats.malformed, gateway.stats.malformed
            assert gateway.stats.positions == total, gateway.stats.positions
        finally:
            await gateway.close()
            stop.set()
            await relay
            engine.dispose()
    return stored, relayed, backend.batcher.batches, bare, cpu


async def end_to_end(terminals: int, reports: int, kinds: list[str]) -> None:
    """Push ``terminals`` × ``reports`` reports; print positions per second and the ratios."""
    total = terminals * reports
    echo = await _echo_run(terminals, reports)

    memory = MemoryBackend()
    for n in range(terminals):
        memory.enrol(_phone(n), _plate(_phone(n)))

    async def memory_done() -> None:
        while len(memory.positions) < total:
            await asyncio.sleep(0.001)

    in_memory = await _gateway_run(memory, terminals, reports, memory_done)
    print(
        f"end to end: {terminals} terminals x {reports} reports over loopback TCP, "
        f"{FRAMES_PER_WRITE} frames per write"
    )
    print(f"  TCP echo of the same bytes (baseline): {total / echo:,.0f} frames/s")
    print(
        f"  gateway, in-memory backend: {total / in_memory:,.0f} positions/s "
        f"({in_memory / echo:.1f}x the echo time)"
    )
    for kind in kinds:
        stored, relayed, batches, bare, cpu = await _database_run(kind, terminals, reports)
        if bare is not None:
            print(
                f"  bare COPY of as many outbox rows into PostgreSQL, 500 per transaction "
                f"(baseline): {total / bare:,.0f} rows/s"
            )
        name = "PostgreSQL" if kind == "postgresql" else "SQLite"
        aim = ""
        if kind == "postgresql":
            met = "meets" if total / stored >= AIM_POSITIONS else "misses"
            aim = f"; aim >= {AIM_POSITIONS:,}/s: {met}"
            if bare is not None:
                aim += f"; {bare / stored:.0%} of the bare COPY's rate"
        print(
            f"  gateway -> {name} (outbox + last positions, acknowledged after commit): "
            f"{total / stored:,.0f} positions/s ({stored / echo:.1f}x the echo time; "
            f"{batches} transactions, {total / max(batches, 1):.0f} positions each{aim})"
        )
        print(
            f"    CPU of this process (gateway, clients, relay; not the database's) until "
            f"acknowledged: {total / cpu:,.0f} positions per CPU second"
        )
        print(
            f"    ... and relayed from the outbox to the in-process bus: "
            f"{total / relayed:,.0f} events/s ({relayed / echo:.1f}x the echo time)"
        )


def _cpu_name() -> str:
    """The processor's model name, where the system says it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown processor"


def main(argv: list[str]) -> None:
    """Run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("terminals", type=int, nargs="?", default=50)
    parser.add_argument("reports", type=int, nargs="?", default=200)
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both"], default="postgresql"
    )
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {_cpu_name()}")
    codec_benchmark(20_000)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    asyncio.run(end_to_end(args.terminals, args.reports, kinds))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Headline figures of codes: the online scan API against a bare endpoint of the same server.

The real app runs under uvicorn in its own process (``twonets serve``, one worker) on
loopback, on a temporary database seeded here: Shanghai's issuing keys, the scenarios, a
library verifier, ``--holders`` residents with their holder tokens. An asyncio client (httpx)
with a fixed concurrency then measures, in the same run and against the same server:

- the bare endpoint ``GET /healthz`` (routing, the access declaration, JSON: the stack's floor);
- ``POST /api/v1/codes/scans``: bearer token, offline checks of a freshly signed code
  (base45, zlib, CBOR, ES256, time), scanner allowed, holder not revoked, replay look-up,
  the sealed scan row written and committed.

Each code is signed here just before its phase (distinct codes, as at a real gate). First the
most each endpoint serves (closed loop, ``--concurrency`` requests in flight, interleaved
rounds, median), then a steady open-loop rate of half the scan maximum, where latencies
p50/p99 are taken (requests are sent on schedule, so a slow answer shows as latency, not as
a lower rate). Aims: scans at least 40% of the bare rate; p99 under 50 ms at half rate.
Bounded: every phase stops after ``--seconds`` or ``--requests``, whichever comes first.

    .venv/bin/python benchmarks/code_scan.py [--database sqlite|postgresql] [--seconds S]
        [--concurrency N] [--holders N] [--profile] [--cpu]

``--cpu`` adds CPU time per request with the app in this process (no network), which a
busy shared machine disturbs far less than the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import insert, text

from twonets import migrations
from twonets.codes import service, token
from twonets.codes.context import Coding
from twonets.codes.models import CodeHolder
from twonets.core import service as core_service
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import Citizen, DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.trust import service as trust

AIM_RATIO = 0.40
AIM_P99_MS = 50.0
SECRET = "benchmark-root-secret-of-32-chars-or-more"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "benchmark-password"
ROUNDS = 3
SIZING_SCANS = 520_000_000
SIZING_DAYS = 92
SIZING_PEAK = 10


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database URL (a SQLite file, or a temporary PostgreSQL database)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'codes.db'}"
        return
    admin = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"twonets_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Seeded:
    """What the client needs: the signing context and the holders' ids."""

    ctx: Coding
    holders: list[int]


def seed(url: str, holders: int) -> Seeded:
    """Keys, scenarios, a library verifier and ``holders`` residents with tokens."""
    migrations.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    root = SECRET.encode()
    ctx = Coding(root, Governance(Catalogue(), root))
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        core_service.ensure_reference_data(session)
        # Keys from a minute back: codes are signed at whole seconds.
        trust.ensure_issuing_region(
            session, region="SH", root_secret=root, now=now - timedelta(minutes=1)
        )
        core_service.create_department(
            session,
            code="sh.culture",
            name="市文化和旅游局",
            name_en="Culture and Tourism Bureau",
            function="culture",
            level=DepartmentLevel.CITY,
            region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240012"
            ),
        )
        core_service.create_staff_account(
            session,
            username="library.gate",
            display_name="Library gate",
            password=PASSWORD,
            department_code="sh.culture",
            roles=[Role.VERIFIER],
        )
        service.ensure_scenarios(session, now=now)
        rows = [
            {
                "id_number": make_id_number(
                    "310101", date(1960, 1, 1) + timedelta(days=i // 900), i % 900
                ),
                "name": f"居民{i:06d}",
                "birth_date": date(1960, 1, 1) + timedelta(days=i // 900),
                "sex": "male",
                "district_code": "310101",
                "created_at": now,
            }
            for i in range(holders)
        ]
        session.execute(insert(Citizen), rows)
        ids = list(session.scalars(text("SELECT id FROM citizen ORDER BY id")))
        session.execute(
            insert(CodeHolder),
            [
                {
                    "token": token.token_text(
                        token.holder_token(
                            ctx.token_secret(), region="SH", kind="citizen", holder_id=cid
                        )
                    ),
                    "region_code": "SH",
                    "citizen_id": cid,
                    "created_at": now,
                }
                for cid in ids
            ],
        )
    engine.dispose()
    return Seeded(ctx, ids)


def sign_codes(url: str, seeded: Seeded, count: int) -> list[str]:
    """``count`` distinct library codes of the seeded holders, signed now."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC).replace(microsecond=0)
    with unit_of_work(factory) as session:
        key = seeded.ctx.signing_key(session, "SH", now)
    engine.dispose()
    assert key.private_key is not None
    codes = []
    for i in range(count):
        holder = seeded.holders[i % len(seeded.holders)]
        raw = token.holder_token(
            seeded.ctx.token_secret(), region="SH", kind="citizen", holder_id=holder
        )
        claims = token.CodeClaims(
            raw,
            "citizen",
            "library",
            "valid",
            secrets.token_bytes(8),
            {"status": "valid", "name_initial": "居"},
        )
        codes.append(
            token.encode_code(
                claims,
                region="SH",
                private_key=key.private_key,  # type: ignore[arg-type]
                kid=key.kid,
                issued_at=now,
                rotation=timedelta(seconds=60),
            )
        )
    return codes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(url: str, folder: Path, port: int) -> Iterator[str]:
    """The real app under uvicorn in its own process (``twonets serve``)."""
    env = {
        **os.environ,
        "TWONETS_DATABASE_URL": url,
        "TWONETS_VAR_DIR": str(folder / "var"),
        "TWONETS_SECRET_KEY": SECRET,
    }
    program = str(Path(sys.executable).parent / "twonets")
    command = [sys.executable, program, "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with open(folder / "server.log", "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            else:
                raise SystemExit(f"the server did not start; see {folder / 'server.log'}")
            yield base
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def profile_scan_path(url: str, seeded: Seeded, count: int = 1000) -> None:
    """Where one scan's time goes, in this process: ``service.scan_confirmed`` in its unit of work.

    The server runs handlers in a thread pool, where a profiler of the main thread sees
    nothing; this replays the same unit of work the scan route runs, under cProfile.
    """
    import cProfile
    import pstats

    from twonets.core import auth

    engine = make_engine(url)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with unit_of_work(factory) as session:
        account = auth.authenticate(session, "library.gate", PASSWORD)
        bearer = auth.issue_token(session, account, now=now, ttl=timedelta(hours=1))
    codes = sign_codes(url, seeded, count + 50)

    principals = auth.PrincipalCache(5.0)

    def one(i: int) -> None:
        # As the route without an Idempotency-Key: the login confirmed by the scan's first
        # statement, with the holder's look-up.
        login = auth.LoginCheck(bearer, service.SCAN_ROLES, principals)
        with unit_of_work(factory) as session:
            service.scan_confirmed(
                session, seeded.ctx, login, text=codes[i], place="gate", now=datetime.now(UTC)
            )

    for i in range(50):
        one(count + i)
    # CPU time, not wall time: the server's one process is bound by its CPU (the GIL), while
    # waits on the database overlap across its threads.
    profiler = cProfile.Profile(time.process_time)
    start, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for i in range(count):
        one(i)
    profiler.disable()
    wall = 1000 * (time.perf_counter() - start) / count
    print(
        f"profile: {wall:.2f} ms per scan, of which "
        f"{1000 * (time.process_time() - cpu) / count:.2f} ms CPU (profiled)"
    )
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    engine.dispose()


async def cpu_per_request(
    url: str, folder: Path, seeded: Seeded, count: int, seconds: float
) -> tuple[list[float], list[float]]:
    """CPU milliseconds per request of ``/healthz`` and of scans, the app in this process.

    The same app (``create_app``) driven through httpx's ASGI transport, 8 requests in
    flight, in interleaved rounds: process CPU time, which the other work on a shared
    machine disturbs far less than the rates over loopback. Client and server share the
    process, so both figures include the client's part of a request.
    """
    from twonets.core.config import Settings
    from twonets.web.app import create_app

    settings = Settings(
        var_dir=folder / "var-cpu", database_url=url, secret_key=SECRET, events_url=None
    )
    app = create_app(settings, relay=False)
    bare_ms: list[float] = []
    scan_ms: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            answer = await client.post(
                "/api/v1/auth/token", json={"username": "library.gate", "password": PASSWORD}
            )
            headers = {"Authorization": "Bearer " + answer.json()["access_token"]}

            async def bare(i: int) -> None:
                assert (await client.get("/healthz")).status_code == 200

            async def scan(i: int) -> None:
                body = {"code": codes[i], "place": f"gate {i % 4}"}
                response = await client.post("/api/v1/codes/scans", json=body, headers=headers)
                assert response.status_code == 200, response.text
                assert response.json()["admit"], response.text

            async def phase(request: Callable[[int], Awaitable[None]], limit: int = count) -> float:
                cpu, deadline, done = time.process_time(), time.perf_counter() + seconds, 0
                while done < limit and time.perf_counter() < deadline:
                    await asyncio.gather(*(request(done + j) for j in range(8)))
                    done += 8
                return 1000 * (time.process_time() - cpu) / done

            codes = sign_codes(url, seeded, 200)
            await phase(bare, 200)
            await phase(scan, 200)
            for _ in range(ROUNDS):
                bare_ms.append(await phase(bare))
                codes = sign_codes(url, seeded, count + 8)
                scan_ms.append(await phase(scan))
    return bare_ms, scan_ms


Request = Callable[[httpx.AsyncClient, int], Awaitable[int]]


async def _status(request: Request, client: httpx.AsyncClient, i: int) -> int:
    """The status of one request; a dropped connection counts as a failure, not a crash."""
    try:
        return await request(client, i)
    except httpx.HTTPError:
        return 0


async def closed_loop(
    client: httpx.AsyncClient, request: Request, *, concurrency: int, seconds: float, limit: int
) -> tuple[float, int]:
    """Requests per second with ``concurrency`` in flight, until ``seconds`` or ``limit``."""
    counter = iter(range(limit))
    errors = 0
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal errors, done
        for i in counter:
            if time.perf_counter() > deadline:
                return
            if await _status(request, client, i) != 200:
                errors += 1
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start), errors


async def open_loop(
    client: httpx.AsyncClient, request: Request, *, rate: float, seconds: float, limit: int
) -> tuple[list[float], int, float]:
    """Latencies (ms) of requests sent on schedule at ``rate`` per second."""
    count = min(limit, int(rate * seconds))
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal errors
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        sent = time.perf_counter()
        if await _status(request, client, i) != 200:
            errors += 1
        latencies.append((time.perf_counter() - sent) * 1000)

    await asyncio.gather(*(one(i) for i in range(count)))
    return latencies, errors, count / (time.perf_counter() - start)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def measure(
    base: str, codes_for: Callable[[int], list[str]], args: argparse.Namespace
) -> dict[str, Any]:
    limits = httpx.Limits(
        max_connections=args.concurrency * 4, max_keepalive_connections=args.concurrency * 4
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        answer = await client.post(
            "/api/v1/auth/token", json={"username": "library.gate", "password": PASSWORD}
        )
        answer.raise_for_status()
        headers = {"Authorization": "Bearer " + answer.json()["access_token"]}
        codes: list[str] = []
        failures: list[str] = []

        async def bare(c: httpx.AsyncClient, i: int) -> int:
            return (await c.get("/healthz")).status_code

        async def scan(c: httpx.AsyncClient, i: int) -> int:
            body = {"code": codes[i % len(codes)], "place": f"gate {i % 4}"}
            response = await c.post("/api/v1/codes/scans", json=body, headers=headers)
            failed = response.status_code != 200 or not response.json()["admit"]
            if failed and len(failures) < 3:
                failures.append(f"{response.status_code} {response.text[:300]}")
            if response.status_code == 200 and not response.json()["admit"]:
                return 299
            return response.status_code

        # Warm up both paths (connections, caches, the trust store).
        codes = codes_for(200)
        await closed_loop(client, bare, concurrency=args.concurrency, seconds=1, limit=300)
        await closed_loop(client, scan, concurrency=args.concurrency, seconds=1, limit=200)
        bare_rates, scan_rates, scan_errors = [], [], 0
        for _ in range(ROUNDS):
            rate, _ = await closed_loop(
                client,
                bare,
                concurrency=args.concurrency,
                seconds=args.seconds,
                limit=args.requests,
            )
            bare_rates.append(rate)
            codes = codes_for(min(args.requests, int(args.seconds * 2000)))
            rate, errors = await closed_loop(
                client,
                scan,
                concurrency=args.concurrency,
                seconds=args.seconds,
                limit=args.requests,
            )
            scan_rates.append(rate)
            scan_errors += errors
        bare_max, scan_max = statistics.median(bare_rates), statistics.median(scan_rates)
        steady = scan_max / 2
        codes = codes_for(int(steady * args.seconds) + 10)
        scan_lat, steady_errors, scan_sent = await open_loop(
            client, scan, rate=steady, seconds=args.seconds, limit=args.requests
        )
        bare_lat, _, _ = await open_loop(
            client, bare, rate=steady, seconds=args.seconds, limit=args.requests
        )
    return {
        "bare_rates": bare_rates,
        "scan_rates": scan_rates,
        "bare_max": bare_max,
        "scan_max": scan_max,
        "scan_errors": scan_errors,
        "steady": steady,
        "steady_sent": scan_sent,
        "steady_errors": steady_errors,
        "scan_p50": percentile(scan_lat, 50),
        "scan_p99": percentile(scan_lat, 99),
        "bare_p50": percentile(bare_lat, 50),
        "bare_p99": percentile(bare_lat, 99),
        "steady_count": len(scan_lat),
        "failures": failures,
    }


def scan_row_bytes(url: str) -> float | None:
    """Bytes per stored scan on PostgreSQL (table and indexes over rows), else None."""
    if not url.startswith("postgresql"):
        return None
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE code_scan"))
        rows = connection.execute(text("SELECT count(*) FROM code_scan")).scalar_one()
        size = connection.execute(text("SELECT pg_total_relation_size('code_scan')")).scalar_one()
    engine.dispose()
    return size / rows if rows else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each phase")
    parser.add_argument("--requests", type=int, default=20_000, help="most requests per phase")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--holders", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="profile the scan path first")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also measure CPU time per request with the app in this process",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="twonets-codes-bench-") as work:
        folder = Path(work)
        with database(args.database, folder) as url:
            seeded = seed(url, args.holders)
            if args.profile:
                profile_scan_path(url, seeded)
            cpu = None
            if args.cpu:
                cpu = asyncio.run(
                    cpu_per_request(url, folder, seeded, min(args.requests, 2000), args.seconds)
                )
            with server(url, folder, free_port()) as base:
                figures = asyncio.run(measure(base, lambda n: sign_codes(url, seeded, n), args))
            per_row = scan_row_bytes(url)
            if figures["failures"]:
                log = (folder / "server.log").read_text(errors="replace").splitlines()
                errors = [i for i, line in enumerate(log) if line.startswith("Traceback")]
                if errors:  # the last failure's innermost frames and its exception
                    block = log[errors[-1] + 1 :]
                    end = next((i for i, line in enumerate(block) if line[:1].isalpha()), 0)
                    print("\n".join(block[max(0, end - 8) : end + 1]), file=sys.stderr)
    report(figures, args, per_row)
    if cpu is not None:
        bare_ms, scan_ms = (statistics.median(values) for values in cpu)
        print(
            f"in process (CPU time per request, {ROUNDS} rounds, median): "
            f"bare {bare_ms:.2f} ms, scan {scan_ms:.2f} ms, "
            f"ratio bare/scan {bare_ms / scan_ms:.2f} (aim >= {AIM_RATIO:.2f}: "
            f"{'met' if bare_ms / scan_ms >= AIM_RATIO else 'NOT met'})"
        )
        print("  rounds: " + "; ".join(f"{b:.2f} / {c:.2f}" for b, c in zip(*cpu, strict=True)))


def report(f: dict[str, Any], args: argparse.Namespace, per_row: float | None) -> None:
    """Print the figures, the aims, and the sizing they give."""
    ratio = f["scan_max"] / f["bare_max"]
    rounds = ", ".join(f"{r:.0f}" for r in f["bare_rates"])
    scan_rounds = ", ".join(f"{r:.0f}" for r in f["scan_rates"])
    met = "met" if ratio >= AIM_RATIO else "NOT met"
    p99_met = "met" if f["scan_p99"] < AIM_P99_MS else "NOT met"
    print(
        f"code scans on loopback: one uvicorn worker, {args.database}, {os.cpu_count()} CPUs, "
        f"concurrency {args.concurrency}, {args.seconds:g} s per phase, {ROUNDS} rounds"
    )
    print(f"  bare GET /healthz          {f['bare_max']:8.0f} req/s  (rounds: {rounds})")
    print(
        f"  POST /api/v1/codes/scans   {f['scan_max']:8.0f} req/s  (rounds: {scan_rounds}; "
        f"not admitted or failed: {f['scan_errors']})"
    )
    print(f"  ratio scan/bare            {ratio:8.2f}       (aim >= {AIM_RATIO:.2f}: {met})")
    print(
        f"  steady {f['steady']:.0f} scans/s (half the scan maximum; sent {f['steady_sent']:.0f}/s,"
        f" {f['steady_count']} requests, not admitted or failed {f['steady_errors']}):"
    )
    print(
        f"    scan  p50 {f['scan_p50']:6.1f} ms   p99 {f['scan_p99']:6.1f} ms   "
        f"(aim p99 < {AIM_P99_MS:.0f} ms: {p99_met})"
    )
    print(f"    bare  p50 {f['bare_p50']:6.1f} ms   p99 {f['bare_p99']:6.1f} ms   (same rate)")
    for failure in f["failures"]:
        print(f"  not admitted or failed, e.g.: {failure}")
    per_day = SIZING_SCANS / SIZING_DAYS
    average = per_day / 86_400
    peak = average * SIZING_PEAK
    print(
        f"sizing: {SIZING_SCANS:,} scans in {SIZING_DAYS} days = {per_day:,.0f}/day, "
        f"{average:,.0f}/s on average, {peak:,.0f}/s at a {SIZING_PEAK}x peak"
    )
    print(
        f"  at {f['scan_max']:.0f} scans/s per worker: {peak / f['scan_max']:.1f} workers at "
        f"full load, {2 * peak / f['scan_max']:.1f} at half load (where the p99 above holds)"
    )
    if per_row is not None:
        total = per_row * SIZING_SCANS / 1e9
        print(
            f"  storage: {per_row:,.0f} bytes per scan on PostgreSQL (table + indexes), "
            f"{total:,.0f} GB for {SIZING_SCANS:,} scans"
        )


if __name__ == "__main__":
    main()

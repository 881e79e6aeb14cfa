"""Bounded load: the main read and write paths at a steady rate, on 127.0.0.1 only.

For each configuration (SQLite with one worker; PostgreSQL with one and with two workers,
``twonets serve --workers N``) a fresh database is migrated and seeded, the server is started
on 127.0.0.1, and each path gets ``--requests`` requests sent at ``--rate`` per second
(open loop: a request leaves at its scheduled time whether or not earlier ones have
answered), so every run is bounded by requests / rate seconds plus the last answers. Per
path: answered requests per second, p50 and p99 latency, and errors. ``/healthz`` is the
baseline of the same run; the paths' p50 are also given as ratios to it.

Paths: reads ``GET /api/v1/licences/types`` (public), ``GET /api/v1/wallet`` (a resident's
licences, authenticated); writes ``POST /api/v1/citizens`` (registration),
``POST /api/v1/licences`` (licence issue, a signature each), ``POST /api/v1/ops/reports``
(a resident's case report).

    .venv/bin/python benchmarks/load.py [--requests 300] [--rate 30] [--configs sqlite,pg1,pg2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import text

from twonets import migrations
from twonets.core import auth, geo
from twonets.core import service as core_service
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import DepartmentLevel, Role
from twonets.core.service import ensure_reference_data
from twonets.operations.cases import catalogue
from twonets.trust import service as trust

POSTGRES = os.environ.get(
    "TWONETS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PORT = 8107
CLIENT_THREADS = 32


@dataclass
class Seeded:
    """Tokens and the ID numbers of residents who may be issued an ID card."""

    police: str
    resident: str
    id_numbers: list[str]


@dataclass(frozen=True)
class Route:
    """One path under load: the request for the n-th call."""

    name: str
    method: str
    url: str
    body: Callable[[Seeded, int], dict[str, Any] | None]
    token: Callable[[Seeded], str | None]
    ok: int = 200


def _id_card(seeded: Seeded, n: int) -> dict[str, Any]:
    number = seeded.id_numbers[n % len(seeded.id_numbers)]
    return {
        "type_code": "ID",
        "valid_from": "2024-01-01",
        "claims": {
            "name": "张三",
            "id_number": number,
            "sex": "female" if int(number[16]) % 2 == 0 else "male",
            "birth_date": "1985-03-04",
            "address": "上海市黄浦区人民大道200号",
            "photo_hash": hashlib.sha256(b"photo").hexdigest(),
        },
    }


def _resident(seeded: Seeded, n: int) -> dict[str, Any]:
    birth = date(1960, 1, 1) + timedelta(days=n // 500)
    return {"id_number": make_id_number("310101", birth, n % 500), "name": f"居民{n}"}


def _city_places() -> list[tuple[float, float]]:
    """Points half a kilometre apart inside the city's districts (the reports' places).

    Far beyond the 50 m within which a report joins an open case, so that each report makes
    its own; a grid over the city's box alone put some in the Yangtze estuary, which the
    platform rightly refuses (422).
    """
    grid = (
        (round(121.20 + i * 0.005, 3), round(31.00 + j * 0.005, 3))
        for j in range(80)
        for i in range(100)
    )
    return [p for p in grid if geo.locate_district(*p, crs="wgs84") is not None]


# Found once, before any request is timed (0.3 s): not by the client's threads mid-run.
PLACES = _city_places()


def _report(seeded: Seeded, n: int) -> dict[str, Any]:
    lon, lat = PLACES[n % len(PLACES)]
    return {"category": "E0102", "description": f"垃圾 {n}", "lon": lon, "lat": lat}


PATHS = [
    Route("baseline /healthz", "GET", "/healthz", lambda s, n: None, lambda s: None),
    Route("read licence types", "GET", "/api/v1/licences/types", lambda s, n: None,
          lambda s: None),
    Route("read wallet", "GET", "/api/v1/wallet", lambda s, n: None, lambda s: s.resident),
    Route("write registration", "POST", "/api/v1/citizens", _resident, lambda s: s.police,
          ok=201),
    Route("write licence issue", "POST", "/api/v1/licences", _id_card, lambda s: s.police,
          ok=201),
    Route("write case report", "POST", "/api/v1/ops/reports", _report, lambda s: s.resident,
          ok=201),
]  # fmt: skip


def seed(settings: Settings, requests: int) -> Seeded:
    """A police clerk, a resident with a login, and residents to issue ID cards to."""
    migrations.upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    secret = resolve_secret_key(settings)
    now = utcnow()
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ensure_reference_data(session)
            catalogue.ensure_elements(session)
            trust.ensure_issuing_region(
                session, region="SH", root_secret=secret, now=now - timedelta(days=1)
            )
            police = core_service.create_department(
                session, code="sh.police", name="公安", name_en="police", function="police",
                level=DepartmentLevel.CITY, region_code="SH",
                credit_code=make_credit_code(
                    authority="1", kind="1", region_code="310000", organisation_body="00240001"
                ),
            )  # fmt: skip
            clerk = core_service.create_staff_account(
                session, username="load.clerk", display_name="clerk", password="load-test-pass-1",
                department_code=police.code, roles=(Role.STAFF,),
            )  # fmt: skip
            numbers = [make_id_number("310101", date(1985, 3, 4), i) for i in range(requests)]
            for number in numbers:
                core_service.enter_citizen(session, id_number=number, name="张三", now=now)
            resident = core_service.register_citizen(
                session, id_number=make_id_number("310104", date(1976, 8, 1), 1), name="王小明",
                password="load-test-pass-1", now=now,
            )  # fmt: skip
            ttl = timedelta(hours=2)
            return Seeded(
                auth.issue_token(session, clerk, now=now, ttl=ttl),
                auth.issue_token(session, resident, now=now, ttl=ttl),
                numbers,
            )
    finally:
        engine.dispose()


@contextmanager
def database(config: str, folder: Path) -> Iterator[str]:
    """A new, empty database for one configuration, removed afterwards."""
    if config == "sqlite":
        yield f"sqlite:///{folder / 'load.db'}"
        return
    admin = make_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    name = f"twonets_load_{uuid.uuid4().hex[:10]}"
    base = POSTGRES.rpartition("/")[0]
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield f"{base}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def server(settings: Settings, workers: int, log: Path) -> Iterator[None]:
    """``twonets serve --workers N`` on 127.0.0.1:PORT until the block ends."""
    env = os.environ | {
        "TWONETS_DATABASE_URL": settings.effective_database_url,
        "TWONETS_VAR_DIR": str(settings.var_dir),
        "TWONETS_EVENTS_URL": "",
    }
    command = [sys.executable, "-c", "from twonets.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(PORT), "--workers", str(workers)]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        time.sleep(2 if workers > 1 else 0.5)  # every worker up, not only the first
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Figures:
    """One path's outcome."""

    ok: int
    errors: int
    seconds: float
    latencies: list[float]

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def load(path: Route, seeded: Seeded, requests: int, rate: float) -> Figures:
    """Send ``requests`` at ``rate`` per second (open loop); collect latencies of the answers."""
    local = threading.local()
    latencies: list[float] = []
    errors = [0]
    first_error: list[str] = []
    lock = threading.Lock()
    token = path.token(seeded)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    start = time.perf_counter() + 0.2

    def one(n: int) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30)
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent = time.perf_counter()
        try:
            answer = client.request(path.method, path.url, json=path.body(seeded, n),
                                    headers=headers)  # fmt: skip
            good = answer.status_code == path.ok
            what = f"{answer.status_code} {answer.text[:200]}"
        except httpx.HTTPError as exc:
            good, what = False, repr(exc)
        took = time.perf_counter() - sent
        with lock:
            if good:
                latencies.append(took)
            else:
                errors[0] += 1
                if not first_error:
                    first_error.append(what)

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        list(pool.map(one, range(requests)))
    if first_error:
        print(f"  {path.name}: {errors[0]} errors, the first: {first_error[0]}", file=sys.stderr)
    return Figures(len(latencies), errors[0], time.perf_counter() - start, latencies)


def run(config: str, requests: int, rate: float, folder: Path) -> list[tuple[str, Figures]]:
    """One configuration: a fresh database, the server, every path in turn."""
    workers = 2 if config == "pg2" else 1
    with database(config, folder) as url:
        settings = Settings(var_dir=folder / "var", database_url=url, events_url=None)
        seeded = seed(settings, requests)
        with server(settings, workers, folder / "server.log"):
            return [(path.name, load(path, seeded, requests, rate)) for path in PATHS]


def main() -> None:
    """Run the configurations and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per path")
    parser.add_argument("--rate", type=float, default=30.0, help="requests per second")
    parser.add_argument("--configs", default="sqlite,pg1,pg2")
    parser.add_argument("--keep", action="store_true", help="keep each server's log")
    args = parser.parse_args()
    print(f"{args.requests} requests per path at {args.rate:g}/s, open loop, 127.0.0.1:{PORT}")
    print(f"{'config':<7} {'path':<22} {'ok':>5} {'err':>4} {'req/s':>7} {'p50 ms':>8} "
          f"{'p99 ms':>8} {'p50/base':>9}")  # fmt: skip
    for config in args.configs.split(","):
        folder = Path(tempfile.mkdtemp(prefix=f"twonets-load-{config}-"))
        rows = run(config, args.requests, args.rate, folder)
        if args.keep:
            print(f"{config}: the server's log is in {folder / 'server.log'}")
        else:
            shutil.rmtree(folder)
        base = rows[0][1].percentile(0.5)
        for name, f in rows:
            print(
                f"{config:<7} {name:<22} {f.ok:>5} {f.errors:>4} {f.ok / f.seconds:>7.1f} "
                f"{f.percentile(0.5):>8.1f} {f.percentile(0.99):>8.1f} "
                f"{f.percentile(0.5) / base:>9.1f}"
            )
        mean = statistics.fmean(f.ok / f.seconds for _, f in rows)
        print(f"{config:<7} {'(mean answered/s)':<22} {mean:>20.1f}")


if __name__ == "__main__":
    main()

"""The server killed with SIGKILL during bursts of writes loses no acknowledged write.

The platform runs as its own process (``twonets serve``) on the test database, SQLite or
PostgreSQL. Writers send bursts of every domain's main write at once; whatever the server
answered with its success status is acknowledged. The server is killed without warning
mid-burst, once every domain's writes are being acknowledged; it must start again on the same
database, and every acknowledged write must be stored. ``WRITES`` lists the writes; a domain
adds its own by adding an entry.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen, create_staff, next_credit_code, next_id_number
from local_servers import free_port
from services.services_world import NEV_FORM
from twonets.codes import service as codes_service
from twonets.codes.context import Coding
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import unit_of_work, utcnow
from twonets.core.ids import make_credit_code, make_id_number
from twonets.core.models import DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.service import Governance
from twonets.operations.cases import catalogue
from twonets.services import service as services_service
from twonets.trust import service as trust

BURST_SECONDS = 1.0
ENOUGH = 5
WRITERS = 2


@dataclass
class World:
    """Tokens by role and the things the writes refer to."""

    tokens: dict[str, str]
    id_numbers: list[str]
    code: str


@dataclass(frozen=True)
class Write:
    """One domain's main write: the request for the n-th call, and where it lands.

    ``key`` names the field of the answer that identifies the stored row, ``column`` the
    column of ``table`` holding it.
    """

    domain: str
    name: str
    path: str
    table: str
    body: Callable[[World, int], dict[str, Any]]
    who: str
    status: int = 201
    key: str = "id"
    column: str = "id"


def _id_card(world: World, n: int) -> dict[str, Any]:
    number = world.id_numbers[n % len(world.id_numbers)]
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


def _report(world: World, n: int) -> dict[str, Any]:
    # Points a kilometre apart, so that no report merges into another's case.
    return {
        "category": "E0102",
        "description": f"垃圾 {n}",
        "lon": 121.30 + (n % 40) * 0.01,
        "lat": 31.10 + (n // 40 % 40) * 0.01,
    }


def _request(world: World, n: int) -> dict[str, Any]:
    return {"category": "ent-tax", "description": f"发票申领问题 {n}", "ask_department": True}


def _resident(world: World, n: int) -> dict[str, Any]:
    birth = date(1970, 1, 1) + timedelta(days=n // 500)
    return {"id_number": make_id_number("310101", birth, n % 500), "name": f"居民{n}"}


def _scan(world: World, n: int) -> dict[str, Any]:
    return {"code": world.code, "place": f"gate {n}"}


def _lab_result(world: World, n: int) -> dict[str, Any]:
    at = utcnow() - timedelta(hours=2)
    return {
        "sample_id": f"S-{n:06d}",
        "patient_pseudonym": f"P-{n:06d}",
        "panel": "influenza-a",
        "result": "negative",
        "collected_at": at.isoformat(),
        "received_at": (at + timedelta(minutes=30)).isoformat(),
        "reported_at": (at + timedelta(hours=1)).isoformat(),
    }


def _application(world: World, n: int) -> dict[str, Any]:
    return {"process_id": "nev_plate", "district_code": "310101", "data": dict(NEV_FORM)}


# Each domain's main write, by the package that serves it: a domain with writes in its API
# has an entry here or in NO_BURST_WRITE (test_every_domain_with_writes_is_in_the_kill_test).
WRITES = [
    Write("core", "registration", "/api/v1/citizens", "citizen", _resident, "police"),
    Write("licences", "licence issue", "/api/v1/licences", "licence", _id_card, "police"),
    Write("operations.cases", "case report", "/api/v1/ops/reports", "ops_case", _report,
          "resident"),
    Write("requests", "enterprise request", "/api/v1/requests", "req_request", _request,
          "enterprise"),
    Write("codes", "code scan", "/api/v1/codes/scans", "code_scan", _scan, "library",
          status=200, key="scan_id"),
    Write("health", "lab result", "/api/v1/health/lab-results", "health_lab_sample",
          _lab_result, "lab", key="sample_id", column="sample_id"),
    Write("services", "application", "/api/v1/services/applications", "service_application",
          _application, "resident"),
]  # fmt: skip
# Domains whose writes are not a burst from the API, and where their faults are tested.
NO_BURST_WRITE = {
    "governance": "purposes and policies are set by a few officers; reads are ledgered by "
    "every other write here and the ledger is checked in tests/test_backup.py",
    "operations.devices": "readings and positions arrive over MQTT and JT/T 808 "
    "(tests/operations/devices/test_mqtt_restart.py); the API only registers terminals",
    "operations.trucks": "positions arrive over JT/T 808 through the outbox; the API only "
    "marks alerts read",
    "operations.rentals": "meter readings arrive as files and MQTT batches (bad files: "
    "tests/test_bad_files.py); the API imports a whole batch in one transaction",
    "operations.bikes": "trips and snapshots are imported in batches from operators' feeds; "
    "one transaction per batch",
}


def _serve(settings: Settings, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "TWONETS_DATABASE_URL": settings.effective_database_url,
        "TWONETS_VAR_DIR": str(settings.var_dir),
        "TWONETS_EVENTS_URL": "",
    }
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-c", "from twonets.cli import main; main()", "serve", "--port",
             str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the server did not become ready: {log.read_text()[-2000:]}")


def _department(session: Session, code: str, function: str, body: str) -> Any:
    return core_service.create_department(
        session, code=code, name=code, name_en=code, function=function,
        level=DepartmentLevel.CITY, region_code="SH",
        credit_code=make_credit_code(
            authority="1", kind="1", region_code="310000", organisation_body=body
        ),
    )  # fmt: skip


def _world(settings: Settings, factory: sessionmaker[Session]) -> World:
    secret = resolve_secret_key(settings)
    now = utcnow()
    with unit_of_work(factory) as session:
        catalogue.ensure_elements(session)
        since = now - timedelta(days=1)  # keys valid a while before the codes they sign
        trust.ensure_issuing_region(session, region="SH", root_secret=secret, now=since)
        codes_service.ensure_scenarios(session, now=now)
        services_service.deploy_builtin(session, now=now)
        staff = {
            "police": create_staff(
                session, department=_department(session, "sh.police", "police", "00240001")
            ),
            "library": create_staff(
                session,
                department=_department(session, "sh.culture", "culture", "00240002"),
                roles=(Role.VERIFIER,),
            ),
            "lab": create_staff(
                session, department=_department(session, "sh.lab", "health-lab", "00240003")
            ),
        }
        numbers = [next_id_number(birth=date(1985, 3, 4)) for _ in range(200)]
        for number in numbers:
            create_citizen(session, id_number=number, name="张三")
        resident = create_citizen(session, name="王小明")
        firm = core_service.register_enterprise(
            session, credit_code=next_credit_code(), name="示范企业", password=PASSWORD, now=now
        )
        ttl = timedelta(hours=2)
        accounts = {**staff, "resident": resident, "enterprise": firm}
        tokens = {
            who: auth.issue_token(session, a, now=now, ttl=ttl) for who, a in accounts.items()
        }
        coding = Coding(secret, Governance(Catalogue(), secret))
        code = codes_service.issue_code(
            session, coding, auth.principal_of(resident), scenario="library", now=now
        ).to_json()["text"]
    return World(tokens, numbers, str(code))


def _burst(
    port: int,
    world: World,
    write: Write,
    stop: threading.Event,
    acknowledged: list[Any],
    refused: list[str],
) -> None:
    """Send ``write`` until stopped; the keys the server acknowledged (a few refusals kept)."""
    lock = threading.Lock()
    counter = iter(range(10**6))

    def writer() -> None:
        headers = {"Authorization": f"Bearer {world.tokens[write.who]}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    answer = client.post(write.path, json=write.body(world, n), headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone: unanswered writes are not acknowledged
                with lock:
                    if answer.status_code == write.status:
                        acknowledged.append(answer.json()[write.key])
                    elif len(refused) < 3:
                        refused.append(f"{answer.status_code} {answer.text[:300]}")

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def _domain(module: str) -> str:
    parts = module.split(".")[1:]
    return ".".join(parts[:2]) if parts[0] == "operations" else parts[0]


def test_every_domain_with_writes_is_in_the_kill_test(settings: Settings) -> None:
    """A domain whose API writes (POST) joins WRITES, or says in NO_BURST_WRITE why not."""
    from fastapi.routing import APIRoute, iter_route_contexts

    from twonets.web import create_app

    app = create_app(settings, relay=False)
    writing = {
        _domain(context.original_route.endpoint.__module__)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and "POST" in (context.methods or ())
        and str(context.path).startswith("/api/")
        and not str(context.path).startswith("/api/v1/auth/")
    }
    covered = {w.domain for w in WRITES} | set(NO_BURST_WRITE)
    assert writing - covered == set(), "domains that write but are not in the kill test"
    assert covered - writing == set(), "kill-test entries for domains that do not write"


def test_no_acknowledged_write_is_lost_when_the_server_is_killed(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """Every domain's burst at once against one server, killed once, started once again."""
    world = _world(settings, session_factory)
    port = free_port()
    log = tmp_path / "server.log"
    server = _serve(settings, port, log)
    stop = threading.Event()
    results: dict[str, list[Any]] = {write.name: [] for write in WRITES}
    refusals: dict[str, list[str]] = {write.name: [] for write in WRITES}
    senders = [
        threading.Thread(
            target=_burst,
            args=(port, world, write, stop, results[write.name], refusals[write.name]),
        )
        for write in WRITES
    ]
    try:
        for sender in senders:
            sender.start()
        # Kill mid-burst: once every domain's writes are being acknowledged (a cold server on
        # a busy machine may take a while for the first), a little later.
        deadline = time.monotonic() + 60
        while (
            min(len(result) for result in results.values()) < ENOUGH and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        time.sleep(BURST_SECONDS)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        for sender in senders:
            sender.join(timeout=30)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()

    acknowledged = {
        write.name: {key for key in results[write.name] if key is not None} for write in WRITES
    }
    too_few = {name: refusals[name] for name, keys in acknowledged.items() if len(keys) < ENOUGH}
    assert too_few == {}, f"too few writes acknowledged before the kill: {log.read_text()[-1000:]}"
    server = _serve(settings, port, log)
    try:
        lost: dict[str, list[Any]] = {}
        with engine.connect() as connection:
            for write in WRITES:
                stored = set(
                    connection.execute(text(f"SELECT {write.column} FROM {write.table}")).scalars()
                )
                missing = sorted(acknowledged[write.name] - stored)
                if missing:
                    lost[write.name] = missing[:10]
        assert lost == {}, f"acknowledged writes lost: {lost}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

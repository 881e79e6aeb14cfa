"""The server killed with SIGKILL during bursts of writes loses no acknowledged write.

The platform runs as its own process (``twonets serve``) on the test database, SQLite or
PostgreSQL. Writers send bursts of each domain's main write; whatever the server answered
with 201 is acknowledged. The server is killed without warning mid-burst, started again on
the same database, and every acknowledged write must be there (and readable through the
API again). ``WRITES`` lists the writes; a domain adds its own by adding an entry.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, create_citizen, create_staff, next_credit_code, next_id_number
from local_servers import free_port
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.config import Settings, resolve_secret_key
from twonets.core.db import unit_of_work, utcnow
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.operations.cases import catalogue
from twonets.trust import service as trust

BURST_SECONDS = 1.5
WRITERS = 3


@dataclass
class World:
    """Tokens and people the writes need."""

    police: str
    resident: str
    enterprise: str
    id_numbers: list[str]
    next_person: Iterator[int] = field(default_factory=lambda: iter(range(10**6)))


@dataclass(frozen=True)
class Write:
    """One domain's main write: the request for the n-th call, and the table it lands in."""

    name: str
    path: str
    table: str
    body: Callable[[World, int], dict[str, Any]]
    token: Callable[[World], str]


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


WRITES = [
    Write("licence issue", "/api/v1/licences", "licence", _id_card, lambda w: w.police),
    Write("case report", "/api/v1/ops/reports", "ops_case", _report, lambda w: w.resident),
    Write(
        "enterprise request", "/api/v1/requests", "req_request", _request, lambda w: w.enterprise
    ),
]


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


def _world(settings: Settings, factory: sessionmaker[Session]) -> World:
    secret = resolve_secret_key(settings)
    with unit_of_work(factory) as session:
        catalogue.ensure_elements(session)
        trust.ensure_issuing_region(session, region="SH", root_secret=secret, now=utcnow())
        department = core_service.create_department(
            session, code="sh.police", name="公安", name_en="police", function="police",
            level=DepartmentLevel.CITY, region_code="SH",
            credit_code=make_credit_code(
                authority="1", kind="1", region_code="310000", organisation_body="00240001"
            ),
        )  # fmt: skip
        clerk = create_staff(session, department=department)
        numbers = [next_id_number(birth=date(1985, 3, 4)) for _ in range(200)]
        for number in numbers:
            create_citizen(session, id_number=number, name="张三")
        resident = create_citizen(session)
        firm = core_service.register_enterprise(
            session, credit_code=next_credit_code(), name="示范企业", password=PASSWORD,
            now=utcnow(),
        )  # fmt: skip
        ttl = timedelta(hours=2)
        police = auth.issue_token(session, clerk, now=utcnow(), ttl=ttl)
        citizen = auth.issue_token(session, resident, now=utcnow(), ttl=ttl)
        enterprise = auth.issue_token(session, firm, now=utcnow(), ttl=ttl)
    return World(police, citizen, enterprise, numbers)


def _burst(port: int, world: World, write: Write, stop: threading.Event) -> list[int]:
    """Send ``write`` until stopped or refused; the ids the server acknowledged."""
    acknowledged: list[int] = []
    lock = threading.Lock()
    counter = iter(range(10**6))

    def writer() -> None:
        headers = {"Authorization": f"Bearer {write.token(world)}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            while not stop.is_set():
                with lock:
                    n = next(counter)
                try:
                    answer = client.post(write.path, json=write.body(world, n), headers=headers)
                except httpx.HTTPError:
                    return  # the server is gone: unanswered writes are not acknowledged
                if answer.status_code == 201:
                    with lock:
                        acknowledged.append(int(answer.json()["id"]))

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return acknowledged


@pytest.mark.parametrize("write", WRITES, ids=[w.name for w in WRITES])
def test_no_acknowledged_write_is_lost_when_the_server_is_killed(
    write: Write,
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    world = _world(settings, session_factory)
    port = free_port()
    log = tmp_path / "server.log"
    server = _serve(settings, port, log)
    stop = threading.Event()
    result: list[int] = []
    sender = threading.Thread(target=lambda: result.extend(_burst(port, world, write, stop)))
    try:
        sender.start()
        time.sleep(BURST_SECONDS)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        stop.set()
        sender.join(timeout=30)
    finally:
        stop.set()
        if server.poll() is None:
            server.kill()

    assert len(result) >= 5, (
        f"too few writes acknowledged before the kill: {log.read_text()[-2000:]}"
    )
    server = _serve(settings, port, log)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(text(f"SELECT id FROM {write.table}")).scalars())
        missing = sorted(set(result) - stored)
        assert missing == [], f"{len(missing)} acknowledged {write.name}s lost: {missing[:10]}"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)

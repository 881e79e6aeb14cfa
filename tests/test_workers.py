"""``twonets serve --workers N``: several processes, the background work once across them.

Two real worker processes on PostgreSQL (``serve --workers 2``) with a probe job added to the
background work (tests/workers_probe.py): the probe's ticks come from one process only, once
per tick; killing that process with SIGKILL hands the lease to another within a lease time,
with no tick from two processes at once. SQLite refuses several workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from local_servers import free_port
from twonets import migrations
from twonets.cli import app as cli
from twonets.core.db import make_engine
from workers_probe import TICK_SECONDS

LEASE_SECONDS = 1.5
HERE = Path(__file__).resolve().parent


def _ticks(probe: Path) -> list[tuple[int, float]]:
    if not probe.exists():
        return []
    lines = [line.split() for line in probe.read_text().splitlines() if line.strip()]
    return [(int(pid), float(at)) for pid, at in lines]


def _children(pid: int) -> set[int]:
    """The worker processes uvicorn spawned (not multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    workers = set()
    for child in found:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(child)
    return workers


def _wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    env = {"TWONETS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "PostgreSQL" in result.output
    assert "Traceback" not in result.output


def test_background_work_runs_once_across_two_workers(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    migrations.upgrade(fresh_postgres_url)
    probe = tmp_path / "ticks.txt"
    port = free_port()
    log = tmp_path / "server.log"
    env = os.environ | {
        "TWONETS_DATABASE_URL": fresh_postgres_url,
        "TWONETS_VAR_DIR": str(tmp_path / "var"),
        "TWONETS_EVENTS_URL": "",
        "TWONETS_LEASE_SECONDS": str(LEASE_SECONDS),
        "TWONETS_TEST_PROBE_FILE": str(probe),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    code = "import twonets.cli as c; c.WORKER_FACTORY = 'workers_probe:create'; c.main()"
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--workers", "2", "--port", str(port)],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    engine = make_engine(fresh_postgres_url)
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return server.poll() is not None

        _wait_for(ready, 60, "the server answers")
        assert server.poll() is None, log.read_text()[-2000:]
        _wait_for(lambda: len(_children(server.pid)) == 2, 20, "two worker processes")
        _wait_for(lambda: len(_ticks(probe)) >= 3, 20, "the probe ticks")

        started = time.time()
        time.sleep(3)
        window = [t for t in _ticks(probe) if t[1] >= started]
        holders = {pid for pid, _ in _ticks(probe)}
        assert len(holders) == 1, f"the probe ran in several processes: {holders}"
        holder = holders.pop()
        assert holder in _children(server.pid)
        # Once per tick across the workers: two runners would write twice as many lines.
        assert len(window) <= 3 / TICK_SECONDS + 2, len(window)
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT holder FROM work_lease WHERE name = 'background'")
            ).one()
        assert f":{holder}:" in row.holder

        killed_at = time.time()
        os.kill(holder, signal.SIGKILL)
        _wait_for(
            lambda: any(pid != holder for pid, _ in _ticks(probe)),
            LEASE_SECONDS * 4 + 15,
            "another worker takes the background work over",
        )
        time.sleep(1)
        after = [(pid, at) for pid, at in _ticks(probe) if at >= killed_at]
        assert all(pid != holder for pid, _ in after)
        assert len({pid for pid, _ in after}) == 1, f"several took over: {after}"
        first = min(at for _, at in after)
        last_of_old = max(at for pid, at in _ticks(probe) if pid == holder)
        assert first > last_of_old  # never two at once
        assert first - killed_at <= LEASE_SECONDS * 2 + 10
        with engine.connect() as connection:
            takeovers = connection.execute(
                text("SELECT takeovers FROM work_lease WHERE name = 'background'")
            ).scalar_one()
        assert takeovers >= 1
    finally:
        engine.dispose()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert "Traceback" not in log.read_text() or pytest.fail(log.read_text()[-3000:])

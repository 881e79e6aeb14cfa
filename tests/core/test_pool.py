"""The web app keeps its database connections: concurrent requests do not open and close them.

With SQLAlchemy's default pool (5 kept, 10 more at a busy moment), every request beyond the
fifth at once opened a connection and closed it again on return: a new server process on
PostgreSQL, the pragmas on SQLite, at every request. The pool is sized by the settings.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from twonets.core.config import Settings
from twonets.core.db import connection_budget_problem, make_engine

AT_ONCE = 8
ROUNDS = 3


def _connections_opened(engine: Engine) -> int:
    """How many connections ``engine`` opens for ROUNDS rounds of AT_ONCE held at once."""
    opened = 0
    lock = threading.Lock()

    def count(*_: object) -> None:
        nonlocal opened
        with lock:
            opened += 1

    event.listen(engine, "connect", count)
    barrier = threading.Barrier(AT_ONCE)

    def hold() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            barrier.wait(timeout=30)  # every connection is out at the same moment

    try:
        with ThreadPoolExecutor(AT_ONCE) as threads:
            for _ in range(ROUNDS):
                list(threads.map(lambda _: hold(), range(AT_ONCE)))
    finally:
        event.remove(engine, "connect", count)
    return opened


@pytest.mark.parametrize(
    ("pool_size", "max_overflow", "opened"),
    [
        # The pool holds them all: each is opened once and kept.
        (AT_ONCE, AT_ONCE, AT_ONCE),
        # Too small a pool: the overflow is opened again in every round.
        (2, AT_ONCE, 2 + ROUNDS * (AT_ONCE - 2)),
    ],
)
def test_a_pool_as_large_as_the_requests_at_once_opens_each_connection_once(
    migrated_url: str, pool_size: int, max_overflow: int, opened: int
) -> None:
    engine = make_engine(migrated_url, pool_size=pool_size, max_overflow=max_overflow)
    try:
        assert _connections_opened(engine) == opened
    finally:
        engine.dispose()


def test_the_default_pool_covers_the_web_apps_thread_pool() -> None:
    defaults = Settings()
    # The web app runs up to 40 requests' database work at once (anyio's thread pool).
    assert defaults.database_pool_size + defaults.database_max_overflow >= 40
    assert defaults.database_pool_size >= 20


@pytest.mark.parametrize(
    ("name", "value"),
    [("TWONETS_DATABASE_POOL_SIZE", "0"), ("TWONETS_DATABASE_MAX_OVERFLOW", "-1")],
)
def test_a_pool_setting_out_of_range_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    field = name.removeprefix("TWONETS_").lower()
    with pytest.raises(ValidationError, match=field):
        Settings()


def test_an_in_memory_database_takes_no_pool_size() -> None:
    engine = make_engine("sqlite://", pool_size=3, max_overflow=3)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_serve_warns_when_the_workers_pools_exceed_the_servers_connections(
    postgres_admin: Engine,
) -> None:
    with postgres_admin.connect() as connection:
        limit = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
    problem = connection_budget_problem(postgres_admin, 4, limit)
    assert problem is not None
    assert f"{4 * limit} in all" in problem
    assert f"max_connections {limit}" in problem
    assert "TWONETS_DATABASE_POOL_SIZE" in problem
    assert connection_budget_problem(postgres_admin, 1, 2) is None


def test_the_connection_budget_is_not_checked_where_it_cannot_be(tmp_path: Path) -> None:
    sqlite = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    away = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    try:
        assert connection_budget_problem(sqlite, 64, 10_000) is None  # SQLite has no limit
        assert connection_budget_problem(away, 64, 10_000) is None  # /readyz reports it
    finally:
        sqlite.dispose()
        away.dispose()


def test_serve_prints_the_warning_and_still_serves(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    postgres_admin: Engine,
) -> None:
    import uvicorn

    from twonets import cli

    served: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(options))
    url = postgres_admin.url.render_as_string(hide_password=False)
    settings = Settings(var_dir=tmp_path / "var", database_url=url, events_url=None)
    cli.run_server(settings.model_copy(update={"database_pool_size": 10_000}), workers=2)
    assert "warning: 2 worker process(es) may open 10020" in capsys.readouterr().err
    assert served[0]["workers"] == 2
    cli.run_server(settings, workers=1)
    assert "warning" not in capsys.readouterr().err
    assert len(served) == 2


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(admin: Engine, *pids: int) -> None:
    with admin.connect() as connection:
        for pid in pids:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def _counting_pings(engine: Engine) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(1)
        return ping(dbapi_connection)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_a_connection_back_moments_ago_is_taken_without_a_ping(postgres_admin: Engine) -> None:
    engine = make_engine(_url(postgres_admin), ping_after_idle=0.3)
    pings = _counting_pings(engine)
    try:
        first = _backend(engine)  # a new connection: no ping
        assert [_backend(engine) for _ in range(5)] == [first] * 5
        assert pings == []
        time.sleep(0.4)  # idle longer than the window: pinged once when taken again
        assert _backend(engine) == first
        assert pings == [1]
    finally:
        engine.dispose()


# 0: SQLAlchemy's own ping at every checkout; otherwise ours, after the connection idled.
@pytest.mark.parametrize("ping_after_idle", [0.1, 0])
def test_a_connection_broken_while_idle_is_replaced_before_anyone_uses_it(
    postgres_admin: Engine, ping_after_idle: float
) -> None:
    engine = make_engine(_url(postgres_admin), ping_after_idle=ping_after_idle)
    try:
        assert engine.pool._pre_ping is (ping_after_idle == 0)  # type: ignore[attr-defined]
        broken = _backend(engine)
        _terminate(postgres_admin, broken)
        time.sleep(0.2)
        assert _backend(engine) != broken  # the ping failed, the pool opened another
    finally:
        engine.dispose()


def test_a_break_the_ping_did_not_see_fails_one_request_and_renews_the_pool(
    postgres_admin: Engine,
) -> None:
    engine = make_engine(_url(postgres_admin), ping_after_idle=3600)
    try:
        with engine.connect() as a, engine.connect() as b:
            pids = {int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in (a, b)}
        _terminate(postgres_admin, *pids)
        time.sleep(0.2)
        with pytest.raises(DBAPIError) as failed:
            _backend(engine)
        assert failed.value.connection_invalidated
        # Both pooled connections predate the break: neither is handed out again.
        with engine.connect() as a, engine.connect() as b:
            renewed = {
                int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()) for c in (a, b)
            }
        assert not renewed & pids
    finally:
        engine.dispose()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_the_app_sizes_its_pool_by_the_settings_and_readyz_shows_it(settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from twonets.web import create_app

    app = create_app(
        settings.model_copy(update={"database_pool_size": 6, "database_max_overflow": 4}),
        relay=False,
    )
    engine: Engine = app.state.engine
    try:
        with TestClient(app) as client:
            idle = client.get("/readyz").json()["connections"]
            assert idle["in_use"] == 0
            assert idle["open"] >= 1  # readyz's own, back in the pool
            assert (idle["kept_at_most"], idle["more_at_most"]) == (6, 4)
            with engine.connect(), engine.connect():
                busy = client.get("/readyz").json()["connections"]
            assert busy["in_use"] == 2
            assert busy["open"] >= 3  # the two held, and the one readyz used
    finally:
        engine.dispose()


def test_a_request_that_finds_every_connection_taken_is_503_to_retry(
    settings: Settings,
) -> None:
    from fastapi.testclient import TestClient

    from twonets.web import create_app

    engine = make_engine(
        settings.effective_database_url, pool_size=1, max_overflow=0, pool_timeout=0.2
    )
    app = create_app(settings, engine=engine, relay=False)
    try:
        with TestClient(app) as client:
            with engine.connect():  # the only connection, held
                busy = client.get("/api/v1/codes/scenarios")
            assert busy.status_code == 503, busy.text
            assert busy.headers["content-type"].startswith("application/problem+json")
            assert busy.headers["Retry-After"]
            assert "every database connection is in use" in busy.json()["detail"]
            assert client.get("/api/v1/codes/scenarios").status_code == 200
    finally:
        engine.dispose()

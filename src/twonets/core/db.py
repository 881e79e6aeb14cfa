"""Database engine, declarative base and the one-transaction-per-use-case unit of work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table of every domain."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the default clock of every service)."""
    return datetime.now(UTC)


def make_engine(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    ping_after_idle: float | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout.

    ``pool_size`` and ``max_overflow`` size the pool of connections (SQLAlchemy's defaults,
    5 and 10, where not given): the web app passes its settings', commands keep the defaults
    (they hold one connection at a time). An in-memory SQLite database has no such pool.

    A PostgreSQL connection is tested with a ping when it is taken from the pool (a server
    restart, a network cut or an idle timeout may have broken it since; a broken one is
    replaced before the caller sees it). With ``ping_after_idle`` (seconds), one that went
    back to the pool less than that long ago is taken as it is (:func:`_ping_when_idle`).
    """
    parsed = make_url(url)
    database = parsed.database
    on_file = bool(database) and database != ":memory:"  # a server's database, or a file
    if on_file and "poolclass" not in kwargs:
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
        if max_overflow is not None:
            kwargs["max_overflow"] = max_overflow
    if parsed.get_backend_name() == "sqlite":
        if on_file:
            Path(str(database)).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not ping_after_idle:
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: Engine, seconds: float) -> None:
    """Ping a connection taken from the pool only if it has been back there ``seconds``.

    Under load a connection goes back and out again within milliseconds, and a ping per
    request is one more round trip to the server each time: a tenth of a code scan's CPU.
    A connection broken while it was in use still fails the request using it, as with a
    ping on every checkout (the ping cannot help a connection already handed out); that
    failure, seen by SQLAlchemy as a disconnect, discards every pooled connection opened
    before it, so the next requests get new ones. The window this leaves: a connection
    back in the pool less than ``seconds`` ago, broken since, and taken again before any
    request saw the break fails the one request that takes it.
    """
    dialect = engine.dialect

    def idle_from_now(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    def taken(dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection) -> None:
        since = record.info.get("returned_at")
        if since is not None and time.monotonic() - since < seconds:
            return
        try:
            dialect.do_ping(dbapi)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi, None):
                # The pool replaces this connection and every one opened before it.
                raise InvalidatePoolError() from exc
            raise

    event.listen(engine, "connect", idle_from_now)  # a new connection needs no ping
    event.listen(engine, "checkin", idle_from_now)
    event.listen(engine, "checkout", taken)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the server read while a job writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (services return them)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back everything if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def connection_budget_problem(engine: Engine, processes: int, per_process: int) -> str | None:
    """Why ``processes`` pools of ``per_process`` connections may not fit the server, or None.

    PostgreSQL refuses connections past ``max_connections`` less those reserved for its
    superusers; SQLite has no such limit. An unreachable server is not this check's problem
    (``/readyz`` reports it): None.
    """
    if engine.dialect.name != "postgresql":
        return None
    try:
        with engine.connect() as connection:
            limit = int(connection.exec_driver_sql("SHOW max_connections").scalar_one())
            reserved = int(
                connection.exec_driver_sql("SHOW superuser_reserved_connections").scalar_one()
            )
    except OperationalError:
        return None
    available = limit - reserved
    needed = processes * per_process
    if needed <= available:
        return None
    return (
        f"{processes} worker process(es) may open {per_process} database connections each "
        f"(TWONETS_DATABASE_POOL_SIZE + TWONETS_DATABASE_MAX_OVERFLOW), {needed} in all, "
        f"but PostgreSQL accepts {available} (max_connections {limit}, {reserved} reserved): "
        "at a busy moment requests would be refused; lower those settings or raise "
        "max_connections"
    )


def pool_figures(engine: Engine) -> dict[str, int] | None:
    """The engine's connections now: open, in use, and the most it keeps and opens beyond.

    None for a pool that keeps no count (an in-memory SQLite database's).
    """
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return None
    in_use = pool.checkedout()
    return {
        "open": in_use + pool.checkedin(),
        "in_use": in_use,
        "kept_at_most": pool.size(),
        "more_at_most": pool._max_overflow,
    }

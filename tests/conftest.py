"""Fixtures shared by every test: databases on SQLite and PostgreSQL, the app, a client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from twonets import migrations
from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.service import ensure_reference_data

# Property tests judge what is computed, never how fast: a shared machine can stall any
# example past Hypothesis's default 200 ms deadline, which would fail a correct test.
hypothesis_settings.register_profile("twonets", deadline=None)
hypothesis_settings.load_profile("twonets")

POSTGRES_ADMIN_URL = os.environ.get(
    "TWONETS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def services_required() -> bool:
    """Whether a missing server fails the run (CI) instead of skipping (a laptop)."""
    return os.environ.get("TWONETS_REQUIRE_SERVICES") == "1"


def unavailable(name: str, reason: str) -> None:
    """Skip, or fail under TWONETS_REQUIRE_SERVICES=1, because ``name`` cannot be reached."""
    message = f"{name} is not available ({reason})"
    if services_required():
        pytest.fail(message + " and TWONETS_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test`` runs two workers), keep each file on one worker.

    A file's expensive fixtures (a demo city, a migrated database) are then built once, not
    once per worker; the browser tests share one served demo city, so they form one group.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    here = Path(__file__).resolve().parent
    for item in items:
        relative = item.path.resolve().relative_to(here)
        group = "e2e" if relative.parts[0] == "e2e" else relative.as_posix()
        item.add_marker(pytest.mark.xdist_group(group))


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 at its lowest cost in tests: hundreds of accounts are made, none is attacked."""
    from argon2 import PasswordHasher

    from twonets.core import auth

    kept = auth._hasher
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    auth._hasher = kept


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the server's ``test`` database, used to create per-run databases."""
    engine = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        unavailable("PostgreSQL at " + POSTGRES_ADMIN_URL, type(exc).__name__)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"twonets_t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _with_database(POSTGRES_ADMIN_URL, name)
    finally:
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend, for tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database migrated to head once per run, on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'twonets.db'}"
        migrations.upgrade(url)
        yield url
        return
    admin = request.getfixturevalue("postgres_admin")
    name = f"twonets_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = _with_database(POSTGRES_ADMIN_URL, name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on an emptied, migrated database holding only the reference places."""
    engine = make_engine(migrated_url)
    metadata = migrations.metadata()
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ensure_reference_data(session)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions on the test database."""
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session; the test commits what it wants others to see."""
    with session_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, migrated_url: str) -> Settings:
    """Demo-mode settings pointing at the test database, with ``var/`` in a temp folder."""
    return Settings(var_dir=tmp_path / "var", database_url=migrated_url, events_url=None)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """The platform's app on the test database, without the background outbox relay."""
    from twonets.web import create_app

    return create_app(settings, engine=engine, relay=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client of the app that, like a browser, names the page's origin on every request.

    (The web refuses state-changing page requests from other origins; see web/security.py.)
    It asks for English pages, as the tests read them; tests/web/test_i18n.py reads Chinese.
    """
    headers = {"Origin": "http://testserver", "Accept-Language": "en"}
    with TestClient(app, headers=headers) as client:
        yield client

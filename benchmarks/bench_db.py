"""A migrated, empty database for one benchmark run, removed afterwards (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from twonets import migrations
from twonets.core.db import make_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "TWONETS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A migrated, empty database of ``kind`` for this run, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="twonets-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            migrations.upgrade(url)
            yield url
        return
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"twonets_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

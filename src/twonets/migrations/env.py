"""Alembic environment: runs migrations on the URL given by ``twonets.migrations``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from twonets.core.db import make_engine
from twonets.migrations import metadata

config = context.config
target_metadata = metadata()


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Batch mode rebuilds tables (copy, drop, rename); with foreign keys enforced the drop
        # fails while other tables point at rows. Alembic's advice: switch them off meanwhile.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # The PRAGMA began SQLAlchemy's implicit transaction; end it so that Alembic's own
        # transaction is the one that commits.
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables the same way on both.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate through a live connection (the only mode the platform uses)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


run_migrations_online()

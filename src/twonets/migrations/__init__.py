"""Alembic migrations of every domain's tables, one history for SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData

HERE = Path(__file__).resolve().parent


def metadata() -> MetaData:
    """The metadata of every domain's tables (importing the models registers them)."""
    import twonets.codes.models
    import twonets.core.models
    import twonets.governance.models
    import twonets.health.models
    import twonets.licences.models
    import twonets.operations.bikes.models
    import twonets.operations.cases.models
    import twonets.operations.devices.models
    import twonets.operations.rentals.models
    import twonets.operations.trucks.models
    import twonets.requests.models
    import twonets.services.models
    import twonets.trust.models  # noqa: F401
    from twonets.core.db import Base

    return Base.metadata


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` without an ini file on disk."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    # Alembic's ini interpolation would treat '%' in passwords as a placeholder.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision in the migration scripts."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

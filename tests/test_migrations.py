"""The same Alembic history builds the models' schema on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from twonets import migrations
from twonets.core.db import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'm.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def test_upgrade_matches_the_models_and_downgrade_removes_everything(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        assert migrations.current_revision(engine) == migrations.head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), migrations.metadata())
        assert diff == []
        migrations.downgrade(empty_url, "base")
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        migrations.upgrade(empty_url)
        assert "citizen" in inspect(engine).get_table_names()
    finally:
        engine.dispose()

"""Fixtures of the services tests."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine


@pytest.fixture
def settings_env(engine: Engine, migrated_url: str) -> dict[str, str]:
    """The environment that points the ``twonets`` command at the test database."""
    return {"TWONETS_DATABASE_URL": migrated_url}

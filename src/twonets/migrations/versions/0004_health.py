"""health

Revision ID: 0004_health
Revises: 0003_licences
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import twonets.core.db  # noqa: F401

revision: str = "0004_health"
down_revision: str | None = "0003_licences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

"""operations

Revision ID: 0006_operations
Revises: 0005_codes
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import twonets.core.db  # noqa: F401

revision: str = "0006_operations"
down_revision: str | None = "0005_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

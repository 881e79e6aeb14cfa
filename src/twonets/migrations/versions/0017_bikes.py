"""shared bikes: trips, parked snapshots, demand cells

Revision ID: 0017_bikes
Revises: 0016_trucks
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

revision: str = "0017_bikes"
down_revision: str | None = "0016_trucks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

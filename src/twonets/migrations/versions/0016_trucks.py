"""muck trucks: companies, trucks, sites, permits, zones, positions, violations

Revision ID: 0016_trucks
Revises: 0015_rentals
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

revision: str = "0016_trucks"
down_revision: str | None = "0015_rentals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

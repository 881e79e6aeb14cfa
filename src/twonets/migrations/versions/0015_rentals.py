"""group rentals: households, meter readings, leads

Revision ID: 0015_rentals
Revises: 0014_requests
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

revision: str = "0015_rentals"
down_revision: str | None = "0014_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

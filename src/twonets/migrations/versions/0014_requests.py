"""enterprise requests and citizen reports

Revision ID: 0014_requests
Revises: 0013_services
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

revision: str = "0014_requests"
down_revision: str | None = "0013_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

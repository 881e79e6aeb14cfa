"""one thing services: processes, applications, tasks

Revision ID: 0013_services
Revises: 0012_governance_authority
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

revision: str = "0013_services"
down_revision: str | None = "0012_governance_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

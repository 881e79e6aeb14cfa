"""codes authority

Revision ID: 0010_codes_authority
Revises: 0009_licence_history
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

revision: str = "0010_codes_authority"
down_revision: str | None = "0009_licence_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

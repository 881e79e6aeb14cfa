"""licence history

Revision ID: 0009_licence_history
Revises: 0008_accounts
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

revision: str = "0009_licence_history"
down_revision: str | None = "0008_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

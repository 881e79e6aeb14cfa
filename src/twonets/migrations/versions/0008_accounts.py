"""accounts: sign-up codes, login attempts and lock-outs

Revision ID: 0008_accounts
Revises: 0007_devices
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

revision: str = "0008_accounts"
down_revision: str | None = "0007_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

"""terminal enrolment

Revision ID: 0011_terminal_enrolment
Revises: 0010_codes_authority
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

revision: str = "0011_terminal_enrolment"
down_revision: str | None = "0010_codes_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

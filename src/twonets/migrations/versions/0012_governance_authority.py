"""governance: break-glass reads

Revision ID: 0012_governance_authority
Revises: 0011_terminal_enrolment
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

revision: str = "0012_governance_authority"
down_revision: str | None = "0011_terminal_enrolment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""


def downgrade() -> None:
    """Undo this revision."""

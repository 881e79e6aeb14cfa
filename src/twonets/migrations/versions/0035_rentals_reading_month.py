"""group rentals: readings indexed by month, so that the months present are found by the index

Revision ID: 0035_rentals_reading_month
Revises: 0034_rentals_kept_totals
Create Date: 2026-12-07 17:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035_rentals_reading_month"
down_revision: str | None = "0034_rentals_kept_totals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_rental_reading_month", "rental_reading", ["month"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_rental_reading_month", table_name="rental_reading")

"""grant stamp: one row the door reads to know whether its kept grants still hold

Revision ID: 0031_governed_grant_stamp
Revises: 0030_kept_rentals_months
Create Date: 2026-12-07 10:45:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_governed_grant_stamp"
down_revision: str | None = "0030_kept_rentals_months"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    table = op.create_table(
        "gov_grant_stamp",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_grant_stamp")),
        info={"data_class_default": "public"},
    )
    # A random first stamp: two databases never share one, even when served by one process.
    op.bulk_insert(table, [{"id": 1, "stamp": uuid.uuid4().hex}])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("gov_grant_stamp")

"""work leases: background work runs once across the server's worker processes

Revision ID: 0028_work_leases
Revises: 0027_holder_keys
Create Date: 2026-12-07 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0028_work_leases"
down_revision: str | None = "0027_holder_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "work_lease",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        _time("acquired_at"),
        _time("renewed_at"),
        _time("expires_at"),
        sa.Column("takeovers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_work_lease")),
        info={"data_class_default": "public"},
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("work_lease")

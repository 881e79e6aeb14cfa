"""governance: break-glass reads

Revision ID: 0012_governance_authority
Revises: 0011_terminal_enrolment
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0012_governance_authority"
down_revision: str | None = "0011_terminal_enrolment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "gov_break_glass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("read_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("purpose_code", sa.String(length=64), nullable=False),
        sa.Column("dataset", sa.String(length=64), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gov_break_glass")),
        sa.UniqueConstraint("request_id", name=op.f("uq_gov_break_glass_request_id")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("gov_break_glass", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_break_glass_actor"), ["actor"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_gov_break_glass_reviewed_at"), ["reviewed_at"], unique=False
        )
    with op.batch_alter_table("gov_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gov_change_at"), ["at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("gov_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gov_change_at"))
    with op.batch_alter_table("gov_break_glass", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gov_break_glass_reviewed_at"))
        batch_op.drop_index(batch_op.f("ix_gov_break_glass_actor"))
    op.drop_table("gov_break_glass")

"""requests: escalation up the chain, versioned policy answers over several categories

Revision ID: 0024_requests_depth
Revises: 0023_services_depth
Create Date: 2026-12-07 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0024_requests_depth"
down_revision: str | None = "0023_services_depth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("req_request") as batch:
        batch.add_column(
            sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(_time("escalation_due_at", nullable=True))
        batch.create_index(op.f("ix_req_request_escalation_due_at"), ["escalation_due_at"])
    with op.batch_alter_table("req_answer") as batch:
        batch.add_column(
            sa.Column("also_categories", sa.JSON(), server_default="[]", nullable=False)
        )
        batch.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_table(
        "req_answer_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        _time("at"),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=128), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_req_answer_version_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["req_answer.id"],
            name=op.f("fk_req_answer_version_answer_id_req_answer"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_answer_version")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_req_answer_version_answer_id"), "req_answer_version", ["answer_id"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_req_answer_version_answer_id"), table_name="req_answer_version")
    op.drop_table("req_answer_version")
    with op.batch_alter_table("req_answer") as batch:
        batch.drop_column("version")
        batch.drop_column("also_categories")
    with op.batch_alter_table("req_request") as batch:
        batch.drop_index(op.f("ix_req_request_escalation_due_at"))
        batch.drop_column("escalation_due_at")
        batch.drop_column("escalation_level")

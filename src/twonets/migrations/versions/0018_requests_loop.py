"""requests: knowledge base of policy answers, urgency and escalation, inbox and deliveries

Revision ID: 0018_requests_loop
Revises: 0017_bikes
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0018_requests_loop"
down_revision: str | None = "0017_bikes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "req_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("updated_at"),
        sa.Column("updated_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["account.id"],
            name=op.f("fk_req_answer_updated_by_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_answer")),
        sa.UniqueConstraint("code", name=op.f("uq_req_answer_code")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_req_answer_category_code"), "req_answer", ["category_code"])
    op.create_table(
        "req_notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _time("at"),
        _time("read_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_req_notification_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["req_request.id"],
            name=op.f("fk_req_notification_request_id_req_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_notification")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_req_notification_account_id"), "req_notification", ["account_id"])
    op.create_index(op.f("ix_req_notification_request_id"), "req_notification", ["request_id"])
    op.create_index(op.f("ix_req_notification_at"), "req_notification", ["at"])
    op.create_table(
        "req_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=256), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reader_account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        _time("created_at"),
        _time("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"], ["req_request.id"], name=op.f("fk_req_delivery_request_id_req_request")
        ),
        sa.ForeignKeyConstraint(
            ["reader_account_id"],
            ["account.id"],
            name=op.f("fk_req_delivery_reader_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_delivery")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_req_delivery_request_id"), "req_delivery", ["request_id"])
    op.create_index(op.f("ix_req_delivery_status"), "req_delivery", ["status"])
    with op.batch_alter_table("req_request") as batch:
        batch.add_column(
            sa.Column("urgency", sa.String(length=16), nullable=False, server_default="normal")
        )
        batch.add_column(_time("remind_at", nullable=True))
        batch.add_column(_time("reminded_at", nullable=True))
        batch.add_column(_time("escalated_at", nullable=True))
        batch.add_column(sa.Column("escalated_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("answer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_req_request_escalated_to_id_department"),
            "department",
            ["escalated_to_id"],
            ["id"],
        )
        batch.create_foreign_key(
            op.f("fk_req_request_answer_id_req_answer"), "req_answer", ["answer_id"], ["id"]
        )
        batch.create_index(op.f("ix_req_request_remind_at"), ["remind_at"])
        batch.create_index(op.f("ix_req_request_escalated_at"), ["escalated_at"])
        batch.create_index(op.f("ix_req_request_escalated_to_id"), ["escalated_to_id"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("req_request") as batch:
        batch.drop_index(op.f("ix_req_request_escalated_to_id"))
        batch.drop_index(op.f("ix_req_request_escalated_at"))
        batch.drop_index(op.f("ix_req_request_remind_at"))
        batch.drop_constraint(op.f("fk_req_request_answer_id_req_answer"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_req_request_escalated_to_id_department"), type_="foreignkey")
        for column in (
            "answer_id",
            "escalated_to_id",
            "escalated_at",
            "reminded_at",
            "remind_at",
            "urgency",
        ):
            batch.drop_column(column)
    op.drop_table("req_delivery")
    op.drop_table("req_notification")
    op.drop_table("req_answer")

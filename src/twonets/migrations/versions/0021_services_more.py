"""services: fill once (form, field origins, consent), BPMN timers, remote messages

Revision ID: 0021_services_more
Revises: 0020_rentals_model
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0021_services_more"
down_revision: str | None = "0020_rentals_model"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("service_application") as batch:
        batch.add_column(sa.Column("form", sa.Text(), nullable=True))
        batch.add_column(sa.Column("field_origins", sa.Text(), nullable=True))
        batch.add_column(sa.Column("purpose_code", sa.String(length=64), nullable=True))
        batch.add_column(_time("consented_at"))
        batch.add_column(_time("next_timer_at"))
        batch.create_index("ix_service_application_next_timer_at", ["next_timer_at"], unique=False)
    op.create_table(
        "service_remote_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("in_reply_to", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("service_task_id", sa.Integer(), nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=False),
        sa.Column("from_region", sa.String(length=8), nullable=False),
        sa.Column("to_region", sa.String(length=8), nullable=False),
        sa.Column("function", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        _time("sent_at"),
        _time("answered_at"),
        sa.ForeignKeyConstraint(["application_id"], ["service_application.id"]),
        sa.ForeignKeyConstraint(["service_task_id"], ["service_task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_service_remote_message_application_id",
        "service_remote_message",
        ["application_id"],
        unique=False,
    )
    op.create_index(
        "ix_service_remote_message_to_status",
        "service_remote_message",
        ["to_region", "status"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_service_remote_message_to_status", table_name="service_remote_message")
    op.drop_index("ix_service_remote_message_application_id", table_name="service_remote_message")
    op.drop_table("service_remote_message")
    with op.batch_alter_table("service_application") as batch:
        batch.drop_index("ix_service_application_next_timer_at")
        batch.drop_column("next_timer_at")
        batch.drop_column("consented_at")
        batch.drop_column("purpose_code")
        batch.drop_column("field_origins")
        batch.drop_column("form")

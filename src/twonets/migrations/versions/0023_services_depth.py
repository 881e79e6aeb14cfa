"""services: timers retried with back-off and parked; material uploaded as files

Revision ID: 0023_services_depth
Revises: 0022_bikes_zones
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0023_services_depth"
down_revision: str | None = "0022_bikes_zones"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("service_application") as batch:
        batch.add_column(
            sa.Column("timer_attempts", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("timer_error", sa.String(length=500), nullable=True))
        batch.add_column(_time("timer_parked_at"))
    op.create_table(
        "service_material",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("service_task_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        _time("uploaded_at", nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["service_application.id"]),
        sa.ForeignKeyConstraint(["service_task_id"], ["service_task.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_service_material_application",
        "service_material",
        ["application_id", "service_task_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_service_material_application", table_name="service_material")
    op.drop_table("service_material")
    with op.batch_alter_table("service_application") as batch:
        batch.drop_column("timer_parked_at")
        batch.drop_column("timer_error")
        batch.drop_column("timer_attempts")

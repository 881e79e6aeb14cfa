"""muck trucks: alerts pushed to inspectors and companies, camera and drone sightings

Revision ID: 0019_trucks_live
Revises: 0017_bikes
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0019_trucks_live"
down_revision: str | None = "0017_bikes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "truck_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("violation_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("prior_violations", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(length=256), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["truck_company.id"],
            name=op.f("fk_truck_alert_company_id_truck_company"),
        ),
        sa.ForeignKeyConstraint(
            ["violation_id"],
            ["truck_violation.id"],
            name=op.f("fk_truck_alert_violation_id_truck_violation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_alert")),
        info={"data_class_default": "public"},
    )
    op.create_index(
        "ix_truck_alert_department", "truck_alert", ["department_code", "created_at"], unique=False
    )
    op.create_index(
        "ix_truck_alert_company", "truck_alert", ["company_id", "created_at"], unique=False
    )
    op.create_index(
        op.f("ix_truck_alert_violation_id"), "truck_alert", ["violation_id"], unique=False
    )
    op.create_table(
        "truck_sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("time", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("image_ref", sa.String(length=512), nullable=False),
        sa.Column("truck_id", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("trip_start_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["truck_id"], ["truck.id"], name=op.f("fk_truck_sighting_truck_id_truck")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_sighting")),
        sa.UniqueConstraint("source", "device", "event_id", name="uq_truck_sighting_event"),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_truck_sighting_time"), "truck_sighting", ["time"], unique=False)
    op.create_index(
        op.f("ix_truck_sighting_truck_id"), "truck_sighting", ["truck_id"], unique=False
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_truck_sighting_truck_id"), table_name="truck_sighting")
    op.drop_index(op.f("ix_truck_sighting_time"), table_name="truck_sighting")
    op.drop_table("truck_sighting")
    op.drop_index(op.f("ix_truck_alert_violation_id"), table_name="truck_alert")
    op.drop_index("ix_truck_alert_company", table_name="truck_alert")
    op.drop_index("ix_truck_alert_department", table_name="truck_alert")
    op.drop_table("truck_alert")

"""shared bikes: trips, parked snapshots, demand cells

Revision ID: 0017_bikes
Revises: 0016_trucks
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0017_bikes"
down_revision: str | None = "0016_trucks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=False)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bike_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("operator", sa.String(length=32), nullable=False),
        sa.Column("bike_id", sa.String(length=32), nullable=False),
        _time("seen_at"),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("cell", sa.String(length=16), nullable=False),
        _time("hour"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bike_snapshot")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("bike_snapshot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bike_snapshot_batch"), ["batch"], unique=False)
        batch_op.create_index("ix_bike_snapshot_cell", ["cell", "hour"], unique=False)
        batch_op.create_index(batch_op.f("ix_bike_snapshot_operator"), ["operator"], unique=False)

    op.create_table(
        "bike_trip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=36), nullable=False),
        sa.Column("operator", sa.String(length=32), nullable=False),
        sa.Column("bike_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("start_lat", sa.Text(), nullable=False),
        sa.Column("start_lon", sa.Text(), nullable=False),
        sa.Column("ended_at", sa.Text(), nullable=False),
        sa.Column("end_lat", sa.Text(), nullable=False),
        sa.Column("end_lon", sa.Text(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("start_cell", sa.String(length=16), nullable=False),
        _time("start_hour"),
        sa.Column("end_cell", sa.String(length=16), nullable=False),
        _time("end_hour"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bike_trip")),
        info={
            "dataset": {
                "name": "bike_trips",
                "subject": "bike_id",
                "subject_kind": "bike",
                "district": None,
                "time": "started_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "personal",
        },
    )
    with op.batch_alter_table("bike_trip", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bike_trip_batch"), ["batch"], unique=False)
        batch_op.create_index("ix_bike_trip_end", ["end_cell", "end_hour"], unique=False)
        batch_op.create_index(batch_op.f("ix_bike_trip_operator"), ["operator"], unique=False)
        batch_op.create_index("ix_bike_trip_start", ["start_cell", "start_hour"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("bike_trip", schema=None) as batch_op:
        batch_op.drop_index("ix_bike_trip_start")
        batch_op.drop_index(batch_op.f("ix_bike_trip_operator"))
        batch_op.drop_index("ix_bike_trip_end")
        batch_op.drop_index(batch_op.f("ix_bike_trip_batch"))
    op.drop_table("bike_trip")
    with op.batch_alter_table("bike_snapshot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bike_snapshot_operator"))
        batch_op.drop_index("ix_bike_snapshot_cell")
        batch_op.drop_index(batch_op.f("ix_bike_snapshot_batch"))
    op.drop_table("bike_snapshot")

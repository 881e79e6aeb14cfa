"""shared bikes: parking zones, over-supply episodes, GBFS feeds

Revision ID: 0022_bikes_zones
Revises: 0021_services_more
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0022_bikes_zones"
down_revision: str | None = "0021_services_more"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = {"data_class_default": "public"}


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "bike_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bike_zone")),
        sa.UniqueConstraint("name", name=op.f("uq_bike_zone_name")),
        info=PUBLIC,
    )
    op.create_table(
        "bike_oversupply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        _time("first_hour"),
        _time("last_hour"),
        sa.Column("parked", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["bike_zone.id"],
            name=op.f("fk_bike_oversupply_zone_id_bike_zone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bike_oversupply")),
        info=PUBLIC,
    )
    with op.batch_alter_table("bike_oversupply", schema=None) as batch_op:
        batch_op.create_index("ix_bike_oversupply_zone", ["zone_id", "open"], unique=False)
    op.create_table(
        "bike_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=512), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _time("created_at"),
        _time("fetched_at", nullable=True),
        sa.Column("fetched_rows", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bike_feed")),
        sa.UniqueConstraint("url", name=op.f("uq_bike_feed_url")),
        info=PUBLIC,
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_table("bike_feed")
    with op.batch_alter_table("bike_oversupply", schema=None) as batch_op:
        batch_op.drop_index("ix_bike_oversupply_zone")
    op.drop_table("bike_oversupply")
    op.drop_table("bike_zone")

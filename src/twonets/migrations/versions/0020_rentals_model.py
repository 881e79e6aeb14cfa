"""group rentals: street teams and their daily caps, thresholds tuned from outcomes

Revision ID: 0020_rentals_model
Revises: 0019_trucks_live
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0020_rentals_model"
down_revision: str | None = "0019_trucks_live"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("rental_household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("street_code", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_rental_household_street_code"), ["street_code"], unique=False
        )
    op.create_table(
        "rental_team",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_rental_team")),
    )
    with op.batch_alter_table("rental_team", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rental_team_district_code"), ["district_code"], unique=False
        )
    op.create_table(
        "rental_thresholds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("z", sa.Float(), nullable=False),
        sa.Column("agreement", sa.Integer(), nullable=False),
        sa.Column("over_registered", sa.Float(), nullable=False),
        sa.Column("min_score", sa.Float(), nullable=False),
        sa.Column("set_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rental_thresholds")),
    )
    with op.batch_alter_table("rental_thresholds", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rental_thresholds_district_code"), ["district_code"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("rental_thresholds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_thresholds_district_code"))
    op.drop_table("rental_thresholds")
    with op.batch_alter_table("rental_team", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_team_district_code"))
    op.drop_table("rental_team")
    with op.batch_alter_table("rental_household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_household_street_code"))
        batch_op.drop_column("street_code")

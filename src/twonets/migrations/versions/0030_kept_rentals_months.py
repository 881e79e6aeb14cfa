"""group rentals: each district's month of figures kept, so detection computes new months only

Revision ID: 0030_kept_rentals_months
Revises: 0029_meters_feed
Create Date: 2026-12-07 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0030_kept_rentals_months"
down_revision: str | None = "0029_meters_feed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rental_kept_figure",
        sa.Column("household_pk", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("water_m3", sa.Float(), nullable=True),
        sa.Column("electricity_kwh", sa.Float(), nullable=True),
        sa.Column("we_d", sa.Float(), nullable=True),
        sa.Column("night_r", sa.Float(), nullable=True),
        sa.Column("weekend_r", sa.Float(), nullable=True),
        sa.Column("peak_valley_r", sa.Float(), nullable=True),
        sa.Column("water_rb", sa.Float(), nullable=True),
        sa.Column("water_rd", sa.Float(), nullable=True),
        sa.Column("water_rm2", sa.Float(), nullable=True),
        sa.Column("water_people", sa.Float(), nullable=True),
        sa.Column("water_z", sa.Float(), nullable=True),
        sa.Column("electricity_rb", sa.Float(), nullable=True),
        sa.Column("electricity_rd", sa.Float(), nullable=True),
        sa.Column("electricity_rm2", sa.Float(), nullable=True),
        sa.Column("electricity_people", sa.Float(), nullable=True),
        sa.Column("electricity_z", sa.Float(), nullable=True),
        sa.Column("gas_rb", sa.Float(), nullable=True),
        sa.Column("gas_rd", sa.Float(), nullable=True),
        sa.Column("gas_rm2", sa.Float(), nullable=True),
        sa.Column("gas_people", sa.Float(), nullable=True),
        sa.Column("gas_z", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_pk"],
            ["rental_household.id"],
            name=op.f("fk_rental_kept_figure_household_pk_rental_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_pk", "month", name=op.f("pk_rental_kept_figure")),
        info={
            "dataset": {
                "name": "rentals.figure",
                "subject": "household_pk",
                "subject_kind": "household",
                "district": None,
                "time": None,
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "personal",
        },
    )
    op.create_table(
        "rental_kept_month",
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("computed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("district_code", "month", name=op.f("pk_rental_kept_month")),
        info={"data_class_default": "public"},
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("rental_kept_month")
    op.drop_table("rental_kept_figure")

"""group rentals: each household's totals over its kept months, and its early means, kept

Revision ID: 0034_rentals_kept_totals
Revises: 0033_lists_numbered_status_lists
Create Date: 2026-12-07 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_rentals_kept_totals"
down_revision: str | None = "0033_lists_numbered_status_lists"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rental_kept_total",
        sa.Column("household_pk", sa.Integer(), nullable=False),
        sa.Column("months", sa.Float(), nullable=False),
        sa.Column("last_month", sa.String(length=7), nullable=False),
        sa.Column("water", sa.Float(), nullable=True),
        sa.Column("power", sa.Float(), nullable=True),
        sa.Column("we_d_sum", sa.Float(), nullable=True),
        sa.Column("we_d_n", sa.Float(), nullable=True),
        sa.Column("night_r_sum", sa.Float(), nullable=True),
        sa.Column("night_r_n", sa.Float(), nullable=True),
        sa.Column("weekend_r_sum", sa.Float(), nullable=True),
        sa.Column("weekend_r_n", sa.Float(), nullable=True),
        sa.Column("peak_valley_r_sum", sa.Float(), nullable=True),
        sa.Column("peak_valley_r_n", sa.Float(), nullable=True),
        sa.Column("water_rb_sum", sa.Float(), nullable=True),
        sa.Column("water_rb_n", sa.Float(), nullable=True),
        sa.Column("water_rd_sum", sa.Float(), nullable=True),
        sa.Column("water_rd_n", sa.Float(), nullable=True),
        sa.Column("water_rm2_sum", sa.Float(), nullable=True),
        sa.Column("water_rm2_n", sa.Float(), nullable=True),
        sa.Column("electricity_rb_sum", sa.Float(), nullable=True),
        sa.Column("electricity_rb_n", sa.Float(), nullable=True),
        sa.Column("electricity_rd_sum", sa.Float(), nullable=True),
        sa.Column("electricity_rd_n", sa.Float(), nullable=True),
        sa.Column("electricity_rm2_sum", sa.Float(), nullable=True),
        sa.Column("electricity_rm2_n", sa.Float(), nullable=True),
        sa.Column("gas_rb_sum", sa.Float(), nullable=True),
        sa.Column("gas_rb_n", sa.Float(), nullable=True),
        sa.Column("gas_rd_sum", sa.Float(), nullable=True),
        sa.Column("gas_rd_n", sa.Float(), nullable=True),
        sa.Column("gas_rm2_sum", sa.Float(), nullable=True),
        sa.Column("gas_rm2_n", sa.Float(), nullable=True),
        sa.Column("water_high", sa.Float(), nullable=True),
        sa.Column("electricity_high", sa.Float(), nullable=True),
        sa.Column("gas_high", sa.Float(), nullable=True),
        sa.Column("water_early", sa.Float(), nullable=True),
        sa.Column("electricity_early", sa.Float(), nullable=True),
        sa.Column("gas_early", sa.Float(), nullable=True),
        sa.Column("early_from", sa.String(length=7), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_pk"],
            ["rental_household.id"],
            name=op.f("fk_rental_kept_total_household_pk_rental_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_pk", name=op.f("pk_rental_kept_total")),
        info={
            "dataset": {
                "name": "rentals.total",
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
    # The months kept so far have no totals yet: each is computed again (with its district's
    # totals) on the next detection.
    kept_month = sa.table("rental_kept_month", sa.column("stale", sa.Boolean()))
    op.execute(kept_month.update().values(stale=True))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("rental_kept_total")

"""group rentals: households, meter readings, leads

Revision ID: 0015_rentals
Revises: 0014_requests
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0015_rentals"
down_revision: str | None = "0014_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "rental_household",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=64), nullable=False),
        sa.Column("building_id", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("rooms", sa.Integer(), nullable=False),
        sa.Column("registered_occupants", sa.Integer(), nullable=False),
        sa.Column("use", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rental_household")),
        sa.UniqueConstraint("household_id", name=op.f("uq_rental_household_household_id")),
        info={
            "dataset": {
                "name": "rentals.household",
                "subject": "id",
                "subject_kind": "household",
                "district": "district_code",
                "time": None,
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("rental_household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rental_household_building_id"), ["building_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rental_household_district_code"), ["district_code"], unique=False
        )
    op.create_table(
        "rental_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_pk", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("water_m3", sa.Float(), nullable=False),
        sa.Column("electricity_kwh", sa.Float(), nullable=False),
        sa.Column("gas_m3", sa.Float(), nullable=False),
        sa.Column("night_share", sa.Float(), nullable=True),
        sa.Column("weekend_share", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_pk"],
            ["rental_household.id"],
            name=op.f("fk_rental_reading_household_pk_rental_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rental_reading")),
        sa.UniqueConstraint("household_pk", "month", name=op.f("uq_rental_reading_household_pk")),
        info={
            "dataset": {
                "name": "rentals.reading",
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
    with op.batch_alter_table("rental_reading", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rental_reading_household_pk"), ["household_pk"], unique=False
        )
    op.create_table(
        "rental_lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_pk", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("reason_parts", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("label", sa.Integer(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("found_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ops_case.id"], name=op.f("fk_rental_lead_case_id_ops_case")
        ),
        sa.ForeignKeyConstraint(
            ["household_pk"],
            ["rental_household.id"],
            name=op.f("fk_rental_lead_household_pk_rental_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rental_lead")),
        sa.UniqueConstraint("household_pk", "period", name=op.f("uq_rental_lead_household_pk")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("rental_lead", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rental_lead_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_rental_lead_district_code"), ["district_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rental_lead_household_pk"), ["household_pk"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rental_lead_state"), ["state"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("rental_lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_lead_state"))
        batch_op.drop_index(batch_op.f("ix_rental_lead_household_pk"))
        batch_op.drop_index(batch_op.f("ix_rental_lead_district_code"))
        batch_op.drop_index(batch_op.f("ix_rental_lead_case_id"))
    op.drop_table("rental_lead")
    with op.batch_alter_table("rental_reading", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_reading_household_pk"))
    op.drop_table("rental_reading")
    with op.batch_alter_table("rental_household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_household_district_code"))
        batch_op.drop_index(batch_op.f("ix_rental_household_building_id"))
    op.drop_table("rental_household")

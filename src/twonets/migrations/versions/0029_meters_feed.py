"""meters feed: each message once, registers and resets, hourly electricity, peak-valley

Revision ID: 0029_meters_feed
Revises: 0028_work_leases
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0029_meters_feed"
down_revision: str | None = "0028_work_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _dataset(name: str) -> dict[str, Any]:
    return {
        "dataset": {
            "name": name,
            "subject": "household_pk",
            "subject_kind": "household",
            "district": None,
            "time": None,
            "retention": None,
            "minor_birth_date": None,
        },
        "data_class_default": "personal",
    }


def _household(table: str) -> list[Any]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_pk", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_pk"],
            ["rental_household.id"],
            name=op.f(f"fk_{table}_household_pk_rental_household"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("rental_reading", schema=None) as batch_op:
        batch_op.add_column(sa.Column("peak_valley", sa.Float(), nullable=True))
    op.create_table(
        "rental_meter",
        *_household("rental_meter"),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("last_register", sa.Float(), nullable=True),
        sa.Column("last_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("resets", sa.Integer(), nullable=False),
        sa.Column("implausible", sa.Integer(), nullable=False),
        sa.Column("late", sa.Integer(), nullable=False),
        sa.Column("held", sa.Float(), nullable=False),
        sa.UniqueConstraint("household_pk", "utility", name=op.f("uq_rental_meter_household_pk")),
        info=_dataset("rentals.meter"),
    )
    op.create_table(
        "rental_meter_message",
        *_household("rental_meter_message"),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "household_pk", "utility", "key", name=op.f("uq_rental_meter_message_household_pk")
        ),
        info=_dataset("rentals.meter-message"),
    )
    op.create_table(
        "rental_hourly_month",
        *_household("rental_hourly_month"),
        sa.Column("month", sa.String(length=7), nullable=False),
        *(
            sa.Column(name, sa.Float(), nullable=False)
            for name in (
                "kwh",
                "hours",
                "valley_kwh",
                "valley_hours",
                "peak_kwh",
                "peak_hours",
                "night_kwh",
                "weekend_kwh",
            )
        ),
        sa.UniqueConstraint(
            "household_pk", "month", name=op.f("uq_rental_hourly_month_household_pk")
        ),
        info=_dataset("rentals.hourly"),
    )
    for table in ("rental_meter", "rental_meter_message", "rental_hourly_month"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_household_pk"), ["household_pk"], unique=False
            )
    with op.batch_alter_table("rental_meter_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rental_meter_message_at"), ["at"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("rental_meter_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rental_meter_message_at"))
    for table in ("rental_hourly_month", "rental_meter_message", "rental_meter"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_household_pk"))
        op.drop_table(table)
    with op.batch_alter_table("rental_reading", schema=None) as batch_op:
        batch_op.drop_column("peak_valley")

"""device intake

Revision ID: 0007_devices
Revises: 0006_operations
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0007_devices"
down_revision: str | None = "0006_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "device_terminal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("terminal_id", sa.String(length=30), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("plate_colour", sa.Integer(), nullable=False),
        sa.Column("manufacturer", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("province", sa.Integer(), nullable=False),
        sa.Column("city", sa.Integer(), nullable=False),
        sa.Column("protocol_version", sa.Integer(), nullable=True),
        sa.Column(
            "auth_code",
            sa.String(length=64),
            nullable=False,
            info={"data_class": "sensitive", "sensitive_kind": "credential"},
        ),
        sa.Column("registered_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("authenticated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_terminal")),
        sa.UniqueConstraint("phone", name=op.f("uq_device_terminal_phone")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_terminal_plate"), ["plate"], unique=False)

    op.create_table(
        "device_last_position",
        sa.Column("terminal_pk", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("gcj_lon", sa.Float(), nullable=False),
        sa.Column("gcj_lat", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("heading", sa.Integer(), nullable=False),
        sa.Column("altitude_m", sa.Integer(), nullable=False),
        sa.Column("alarm_flags", sa.BigInteger(), nullable=False),
        sa.Column("status_flags", sa.BigInteger(), nullable=False),
        sa.Column("reported_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_pk"],
            ["device_terminal.id"],
            name=op.f("fk_device_last_position_terminal_pk_device_terminal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("terminal_pk", name=op.f("pk_device_last_position")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("device_last_position", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_last_position_reported_at"), ["reported_at"], unique=False
        )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("device_last_position", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_last_position_reported_at"))
    op.drop_table("device_last_position")
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_terminal_plate"))
    op.drop_table("device_terminal")

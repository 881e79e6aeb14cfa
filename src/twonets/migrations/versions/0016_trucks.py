"""muck trucks: companies, trucks, sites, permits, zones, positions, violations

Revision ID: 0016_trucks
Revises: 0015_rentals
Create Date: 2026-12-07 03:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0016_trucks"
down_revision: str | None = "0015_rentals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "truck_company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("registered_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_company")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_truck_company_credit_code")),
        info={"data_class_default": "public"},
    )
    op.create_table(
        "truck_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("hours", sa.String(length=11), nullable=True),
        sa.Column("registered_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_zone")),
        sa.UniqueConstraint("name", name=op.f("uq_truck_zone_name")),
        info={"data_class_default": "public"},
    )
    op.create_index(
        op.f("ix_truck_zone_district_code"), "truck_zone", ["district_code"], unique=False
    )
    op.create_table(
        "truck",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("terminal_phone", sa.String(length=20), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("registered_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["truck_company.id"], name=op.f("fk_truck_company_id_truck_company")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck")),
        sa.UniqueConstraint("plate", name=op.f("uq_truck_plate")),
        sa.UniqueConstraint("terminal_phone", name=op.f("uq_truck_terminal_phone")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_truck_company_id"), "truck", ["company_id"], unique=False)
    op.create_table(
        "truck_permit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("truck_id", sa.Integer(), nullable=True),
        sa.Column("origin_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("corridor_m", sa.Float(), nullable=False),
        sa.Column("hours", sa.String(length=11), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["truck_company.id"],
            name=op.f("fk_truck_permit_company_id_truck_company"),
        ),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["truck_zone.id"],
            name=op.f("fk_truck_permit_destination_id_truck_zone"),
        ),
        sa.ForeignKeyConstraint(
            ["origin_id"], ["truck_zone.id"], name=op.f("fk_truck_permit_origin_id_truck_zone")
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"], ["truck.id"], name=op.f("fk_truck_permit_truck_id_truck")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_permit")),
        sa.UniqueConstraint("number", name=op.f("uq_truck_permit_number")),
        info={"data_class_default": "public"},
    )
    op.create_index(
        op.f("ix_truck_permit_company_id"), "truck_permit", ["company_id"], unique=False
    )
    op.create_index(op.f("ix_truck_permit_truck_id"), "truck_permit", ["truck_id"], unique=False)
    op.create_table(
        "truck_position",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("truck_id", sa.Integer(), nullable=False),
        sa.Column("time", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["truck.id"],
            name=op.f("fk_truck_position_truck_id_truck"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_position")),
        info={"data_class_default": "public"},
    )
    op.create_index("ix_truck_position_time", "truck_position", ["time"], unique=False)
    op.create_index(
        "ix_truck_position_truck_time", "truck_position", ["truck_id", "time"], unique=False
    )
    op.create_table(
        "truck_violation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("truck_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("detected_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["truck_id"], ["truck.id"], name=op.f("fk_truck_violation_truck_id_truck")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_truck_violation")),
        sa.UniqueConstraint("truck_id", "kind", "start_at", name="uq_truck_violation_episode"),
        info={"data_class_default": "public"},
    )
    op.create_index(
        op.f("ix_truck_violation_district_code"), "truck_violation", ["district_code"], unique=False
    )
    op.create_index(
        op.f("ix_truck_violation_start_at"), "truck_violation", ["start_at"], unique=False
    )
    op.create_index(
        op.f("ix_truck_violation_truck_id"), "truck_violation", ["truck_id"], unique=False
    )


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_truck_violation_truck_id"), table_name="truck_violation")
    op.drop_index(op.f("ix_truck_violation_start_at"), table_name="truck_violation")
    op.drop_index(op.f("ix_truck_violation_district_code"), table_name="truck_violation")
    op.drop_table("truck_violation")
    op.drop_index("ix_truck_position_truck_time", table_name="truck_position")
    op.drop_index("ix_truck_position_time", table_name="truck_position")
    op.drop_table("truck_position")
    op.drop_index(op.f("ix_truck_permit_truck_id"), table_name="truck_permit")
    op.drop_index(op.f("ix_truck_permit_company_id"), table_name="truck_permit")
    op.drop_table("truck_permit")
    op.drop_index(op.f("ix_truck_company_id"), table_name="truck")
    op.drop_table("truck")
    op.drop_index(op.f("ix_truck_zone_district_code"), table_name="truck_zone")
    op.drop_table("truck_zone")
    op.drop_table("truck_company")

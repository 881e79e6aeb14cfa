"""health: hospitals, the clinical reserve, mobilisations, surveillance counts, alerts, lab samples

Revision ID: 0004_health
Revises: 0003_licences
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0004_health"
down_revision: str | None = "0003_licences"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "health_mobilisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("max_share", sa.Float(), nullable=False),
        sa.Column("demand", sa.JSON(), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_mobilisation")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_health_mobilisation_idempotency_key")),
    )
    op.create_table(
        "health_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("signal", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("observed", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("sample_id", sa.String(length=64), nullable=False),
        sa.Column("lab_department_code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_health_alert_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_alert")),
        sa.UniqueConstraint(
            "kind",
            "district_code",
            "signal",
            "day",
            "method",
            "sample_id",
            name=op.f("uq_health_alert_kind"),
        ),
    )
    op.create_index(op.f("ix_health_alert_day"), "health_alert", ["day"], unique=False)
    op.create_table(
        "health_hospital",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("staff_total", sa.Integer(), nullable=False),
        sa.Column("staff_by_specialty", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_health_hospital_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_hospital")),
        sa.UniqueConstraint("code", name=op.f("uq_health_hospital_code")),
    )
    op.create_index(
        op.f("ix_health_hospital_district_code"), "health_hospital", ["district_code"], unique=False
    )
    op.create_table(
        "health_syndrome_count",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("syndrome", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_health_syndrome_count_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_syndrome_count")),
        sa.UniqueConstraint(
            "day", "district_code", "syndrome", name=op.f("uq_health_syndrome_count_day")
        ),
    )
    op.create_index(
        op.f("ix_health_syndrome_count_day"), "health_syndrome_count", ["day"], unique=False
    )
    op.create_table(
        "health_lab_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=64), nullable=False),
        sa.Column("patient_pseudonym", sa.String(length=64), nullable=False),
        sa.Column("lab_department_code", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("panel", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=64), nullable=False),
        sa.Column("collected_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_health_lab_sample_district_code_district"),
        ),
        sa.ForeignKeyConstraint(
            ["lab_department_code"],
            ["department.code"],
            name=op.f("fk_health_lab_sample_lab_department_code_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_lab_sample")),
        sa.UniqueConstraint("sample_id", name=op.f("uq_health_lab_sample_sample_id")),
    )
    op.create_index(
        op.f("ix_health_lab_sample_lab_department_code"),
        "health_lab_sample",
        ["lab_department_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_health_lab_sample_reported_at"), "health_lab_sample", ["reported_at"], unique=False
    )
    op.create_table(
        "health_reservist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("licence_identifier", sa.String(length=64), nullable=False),
        sa.Column("specialty", sa.String(length=32), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_health_reservist_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_health_reservist_district_code_district"),
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["health_hospital.id"],
            name=op.f("fk_health_reservist_hospital_id_health_hospital"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_reservist")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_health_reservist_citizen_id")),
    )
    op.create_index(
        op.f("ix_health_reservist_district_code"),
        "health_reservist",
        ["district_code"],
        unique=False,
    )
    op.create_index(
        op.f("ix_health_reservist_hospital_id"), "health_reservist", ["hospital_id"], unique=False
    )
    op.create_index(
        op.f("ix_health_reservist_specialty"), "health_reservist", ["specialty"], unique=False
    )
    op.create_table(
        "health_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mobilisation_id", sa.Integer(), nullable=False),
        sa.Column("reservist_id", sa.Integer(), nullable=False),
        sa.Column("centre", sa.String(length=128), nullable=False),
        sa.Column("specialty", sa.String(length=32), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notified_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("responded_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mobilisation_id"],
            ["health_mobilisation.id"],
            name=op.f("fk_health_assignment_mobilisation_id_health_mobilisation"),
        ),
        sa.ForeignKeyConstraint(
            ["reservist_id"],
            ["health_reservist.id"],
            name=op.f("fk_health_assignment_reservist_id_health_reservist"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_assignment")),
        sa.UniqueConstraint(
            "mobilisation_id", "reservist_id", name=op.f("uq_health_assignment_mobilisation_id")
        ),
    )
    op.create_index(
        op.f("ix_health_assignment_mobilisation_id"),
        "health_assignment",
        ["mobilisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_health_assignment_reservist_id"),
        "health_assignment",
        ["reservist_id"],
        unique=False,
    )
    op.create_table(
        "health_training",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservist_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reservist_id"],
            ["health_reservist.id"],
            name=op.f("fk_health_training_reservist_id_health_reservist"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_training")),
    )
    op.create_index(
        op.f("ix_health_training_reservist_id"), "health_training", ["reservist_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_health_training_reservist_id"), table_name="health_training")
    op.drop_table("health_training")
    op.drop_index(op.f("ix_health_assignment_reservist_id"), table_name="health_assignment")
    op.drop_index(op.f("ix_health_assignment_mobilisation_id"), table_name="health_assignment")
    op.drop_table("health_assignment")
    op.drop_index(op.f("ix_health_reservist_specialty"), table_name="health_reservist")
    op.drop_index(op.f("ix_health_reservist_hospital_id"), table_name="health_reservist")
    op.drop_index(op.f("ix_health_reservist_district_code"), table_name="health_reservist")
    op.drop_table("health_reservist")
    op.drop_index(op.f("ix_health_lab_sample_reported_at"), table_name="health_lab_sample")
    op.drop_index(op.f("ix_health_lab_sample_lab_department_code"), table_name="health_lab_sample")
    op.drop_table("health_lab_sample")
    op.drop_index(op.f("ix_health_syndrome_count_day"), table_name="health_syndrome_count")
    op.drop_table("health_syndrome_count")
    op.drop_index(op.f("ix_health_hospital_district_code"), table_name="health_hospital")
    op.drop_table("health_hospital")
    op.drop_index(op.f("ix_health_alert_day"), table_name="health_alert")
    op.drop_table("health_alert")
    op.drop_table("health_mobilisation")

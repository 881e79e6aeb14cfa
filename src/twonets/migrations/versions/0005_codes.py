"""codes

Revision ID: 0005_codes
Revises: 0004_health
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0005_codes"
down_revision: str | None = "0004_health"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""

    op.create_table(
        "code_scan",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scenario_code", sa.String(length=32), nullable=False),
        sa.Column("purpose_code", sa.String(length=64), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("holder_token", sa.String(length=32), nullable=False),
        sa.Column("holder_region", sa.String(length=8), nullable=False),
        sa.Column("verifier_code", sa.String(length=64), nullable=False),
        sa.Column("place", sa.Text(), nullable=False),
        sa.Column("place_key", sa.String(length=24), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("code_id", sa.String(length=24), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("scanned_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("keep_until", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_scan")),
        info={
            "dataset": {
                "name": "codes.scan",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": "district_code",
                "time": "scanned_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("code_scan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_code_scan_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index("ix_code_scan_code_id", ["code_id"], unique=False)
        batch_op.create_index("ix_code_scan_day_scenario", ["day", "scenario_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_code_scan_keep_until"), ["keep_until"], unique=False)

    op.create_table(
        "code_scenario",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("holder_kinds", sa.JSON(), nullable=False),
        sa.Column("disclosed", sa.JSON(), nullable=False),
        sa.Column("verifiers", sa.JSON(), nullable=False),
        sa.Column("purpose_code", sa.String(length=64), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("health", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_code_scenario")),
        info={"data_class_default": "public"},
    )
    op.create_table(
        "code_health_appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("filed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("colour_at_filing", sa.Text(), nullable=False),
        sa.Column("reasons_at_filing", sa.Text(), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_colour", sa.Text(), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_code_health_appeal_citizen_id_citizen")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_health_appeal")),
        info={
            "dataset": {
                "name": "codes.health_appeal",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": None,
                "time": "filed_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("code_health_appeal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_health_appeal_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_code_health_appeal_status"), ["status"], unique=False)

    op.create_table(
        "code_health_input",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("observed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source_department_code", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_code_health_input_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["source_department_code"],
            ["department.code"],
            name=op.f("fk_code_health_input_source_department_code_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_health_input")),
        info={
            "dataset": {
                "name": "codes.health_input",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": None,
                "time": "observed_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("code_health_input", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_health_input_citizen_id"), ["citizen_id"], unique=False
        )

    op.create_table(
        "code_holder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_code_holder_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_code_holder_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_holder")),
        sa.UniqueConstraint("citizen_id", name=op.f("uq_code_holder_citizen_id")),
        sa.UniqueConstraint("enterprise_id", name=op.f("uq_code_holder_enterprise_id")),
        sa.UniqueConstraint("token", name=op.f("uq_code_holder_token")),
        info={
            "dataset": {
                "name": "codes.holder",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": None,
                "time": "created_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )


def downgrade() -> None:
    """Undo this revision."""

    op.drop_table("code_holder")
    with op.batch_alter_table("code_health_input", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_health_input_citizen_id"))

    op.drop_table("code_health_input")
    with op.batch_alter_table("code_health_appeal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_health_appeal_status"))
        batch_op.drop_index(batch_op.f("ix_code_health_appeal_citizen_id"))

    op.drop_table("code_health_appeal")
    op.drop_table("code_scenario")
    with op.batch_alter_table("code_scan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_code_scan_keep_until"))
        batch_op.drop_index("ix_code_scan_day_scenario")
        batch_op.drop_index("ix_code_scan_code_id")
        batch_op.drop_index(batch_op.f("ix_code_scan_citizen_id"))

    op.drop_table("code_scan")

"""operations: management elements, working calendar, components, cases and their history

Revision ID: 0006_operations
Revises: 0005_codes
Create Date: 2026-11-30 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0006_operations"
down_revision: str | None = "0005_codes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ops_category",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("major", sa.String(length=2), nullable=False),
        sa.Column("minor", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("major_name", sa.String(length=64), nullable=False),
        sa.Column("major_name_en", sa.String(length=128), nullable=False),
        sa.Column("department_function", sa.String(length=64), nullable=False),
        sa.Column("limits_hours", sa.JSON(), nullable=False),
        sa.Column("extension", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ops_category")),
        info={"data_class_default": "public"},
    )
    op.create_table(
        "ops_calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_ops_calendar_day")),
        info={"data_class_default": "public"},
    )
    op.create_table(
        "ops_component",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["ops_category.code"],
            name=op.f("fk_ops_component_category_code_ops_category"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_ops_component_district_code_district"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_component")),
        sa.UniqueConstraint("identifier", name=op.f("uq_ops_component_identifier")),
        info={"data_class_default": "public"},
    )
    op.create_index(
        op.f("ix_ops_component_category_code"), "ops_component", ["category_code"], unique=False
    )
    op.create_index(
        op.f("ix_ops_component_district_code"), "ops_component", ["district_code"], unique=False
    )
    op.create_table(
        "ops_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("category_code", sa.String(length=8), nullable=False),
        sa.Column("component_identifier", sa.String(length=16), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reported_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dispatched_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("handled_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("handler_account_id", sa.Integer(), nullable=True),
        sa.Column("verifier_account_id", sa.Integer(), nullable=True),
        sa.Column("merged_into_id", sa.Integer(), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("evaluation", sa.Integer(), nullable=True),
        sa.Column("evaluation_note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["ops_category.code"],
            name=op.f("fk_ops_case_category_code_ops_category"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_ops_case_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_ops_case_district_code_district")
        ),
        sa.ForeignKeyConstraint(
            ["handler_account_id"],
            ["account.id"],
            name=op.f("fk_ops_case_handler_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["ops_case.id"], name=op.f("fk_ops_case_merged_into_id_ops_case")
        ),
        sa.ForeignKeyConstraint(
            ["verifier_account_id"],
            ["account.id"],
            name=op.f("fk_ops_case_verifier_account_id_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_case")),
        sa.UniqueConstraint("number", name=op.f("uq_ops_case_number")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_ops_case_category_code"), "ops_case", ["category_code"], unique=False)
    op.create_index(op.f("ix_ops_case_deadline_at"), "ops_case", ["deadline_at"], unique=False)
    op.create_index(op.f("ix_ops_case_department_id"), "ops_case", ["department_id"], unique=False)
    op.create_index(op.f("ix_ops_case_district_code"), "ops_case", ["district_code"], unique=False)
    op.create_index(op.f("ix_ops_case_state"), "ops_case", ["state"], unique=False)
    op.create_index(op.f("ix_ops_case_updated_at"), "ops_case", ["updated_at"], unique=False)
    op.create_table(
        "ops_case_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor_account_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_account_id"],
            ["account.id"],
            name=op.f("fk_ops_case_step_actor_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ops_case.id"], name=op.f("fk_ops_case_step_case_id_ops_case")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_case_step")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_ops_case_step_case_id"), "ops_case_step", ["case_id"], unique=False)
    op.create_table(
        "ops_case_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=True),
        sa.Column("reporter_citizen_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("reported_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ops_case.id"], name=op.f("fk_ops_case_report_case_id_ops_case")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_citizen_id"],
            ["citizen.id"],
            name=op.f("fk_ops_case_report_reporter_citizen_id_citizen"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_case_report")),
        info={
            "dataset": {
                "name": "operations.report",
                "subject": "reporter_citizen_id",
                "subject_kind": "citizen",
                "district": None,
                "time": "reported_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    op.create_index(
        op.f("ix_ops_case_report_case_id"), "ops_case_report", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_ops_case_report_reporter_citizen_id"),
        "ops_case_report",
        ["reporter_citizen_id"],
        unique=False,
    )
    op.create_table(
        "ops_case_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["ops_case.id"], name=op.f("fk_ops_case_photo_case_id_ops_case")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["account.id"], name=op.f("fk_ops_case_photo_uploaded_by_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ops_case_photo")),
        info={"data_class_default": "public"},
    )
    op.create_index(op.f("ix_ops_case_photo_case_id"), "ops_case_photo", ["case_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    op.drop_index(op.f("ix_ops_case_photo_case_id"), table_name="ops_case_photo")
    op.drop_table("ops_case_photo")
    op.drop_index(op.f("ix_ops_case_report_case_id"), table_name="ops_case_report")
    op.drop_index(op.f("ix_ops_case_report_reporter_citizen_id"), table_name="ops_case_report")
    op.drop_table("ops_case_report")
    op.drop_index(op.f("ix_ops_case_step_case_id"), table_name="ops_case_step")
    op.drop_table("ops_case_step")
    op.drop_index(op.f("ix_ops_case_category_code"), table_name="ops_case")
    op.drop_index(op.f("ix_ops_case_deadline_at"), table_name="ops_case")
    op.drop_index(op.f("ix_ops_case_department_id"), table_name="ops_case")
    op.drop_index(op.f("ix_ops_case_district_code"), table_name="ops_case")
    op.drop_index(op.f("ix_ops_case_state"), table_name="ops_case")
    op.drop_index(op.f("ix_ops_case_updated_at"), table_name="ops_case")
    op.drop_table("ops_case")
    op.drop_index(op.f("ix_ops_component_category_code"), table_name="ops_component")
    op.drop_index(op.f("ix_ops_component_district_code"), table_name="ops_component")
    op.drop_table("ops_component")
    op.drop_table("ops_calendar_day")
    op.drop_table("ops_category")

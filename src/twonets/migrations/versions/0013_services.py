"""one thing services: processes, applications, tasks

Revision ID: 0013_services
Revises: 0012_governance_authority
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0013_services"
down_revision: str | None = "0012_governance_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "service_process",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("bpmn", sa.Text(), nullable=False),
        sa.Column("dmn", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("deployed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_process")),
        sa.UniqueConstraint("process_id", "version", name=op.f("uq_service_process_process_id")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("service_process", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_process_process_id"), ["process_id"], unique=False
        )

    op.create_table(
        "service_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("in_person", sa.Boolean(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("licence_identifier", sa.String(length=64), nullable=True),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_service_application_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["service_process.id"],
            name=op.f("fk_service_application_definition_id_service_process"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["district.code"],
            name=op.f("fk_service_application_district_code_district"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_service_application_enterprise_id_enterprise"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_application")),
        info={
            "dataset": {
                "name": "services.application",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": "district_code",
                "time": "created_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("service_application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_application_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_application_definition_id"), ["definition_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_service_application_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            "ix_service_application_process_status", ["process_id", "status"], unique=False
        )

    op.create_table(
        "service_application_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=True),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("process_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["service_application.id"],
            name=op.f("fk_service_application_event_application_id_service_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_application_event")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("service_application_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_service_application_event_application_at", ["application_id", "at"], unique=False
        )

    op.create_table(
        "service_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("activity", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=500), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("missing", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("escalated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["service_application.id"],
            name=op.f("fk_service_task_application_id_service_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_task")),
        sa.UniqueConstraint(
            "application_id", "task_id", name=op.f("uq_service_task_application_id")
        ),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("service_task", schema=None) as batch_op:
        batch_op.create_index("ix_service_task_lane_status", ["lane", "status"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("service_task", schema=None) as batch_op:
        batch_op.drop_index("ix_service_task_lane_status")

    op.drop_table("service_task")
    with op.batch_alter_table("service_application_event", schema=None) as batch_op:
        batch_op.drop_index("ix_service_application_event_application_at")

    op.drop_table("service_application_event")
    with op.batch_alter_table("service_application", schema=None) as batch_op:
        batch_op.drop_index("ix_service_application_process_status")
        batch_op.drop_index(batch_op.f("ix_service_application_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_service_application_definition_id"))
        batch_op.drop_index(batch_op.f("ix_service_application_citizen_id"))

    op.drop_table("service_application")
    with op.batch_alter_table("service_process", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_process_process_id"))

    op.drop_table("service_process")

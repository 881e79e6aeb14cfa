"""enterprise requests and citizen reports

Revision ID: 0014_requests
Revises: 0013_services
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0014_requests"
down_revision: str | None = "0013_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "req_open311_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_open311_client")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_req_open311_client_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_req_open311_client_name")),
        info={"data_class_default": "public"},
    )
    op.create_table(
        "req_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("district_code", sa.String(length=6), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("open311_client_id", sa.Integer(), nullable=True),
        sa.Column("proposed_category", sa.String(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=True),
        sa.Column("submitted_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_note", sa.String(length=500), nullable=True),
        sa.Column("updated_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_req_request_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["district.code"], name=op.f("fk_req_request_district_code_district")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_req_request_enterprise_id_enterprise"),
        ),
        sa.ForeignKeyConstraint(
            ["open311_client_id"],
            ["req_open311_client.id"],
            name=op.f("fk_req_request_open311_client_id_req_open311_client"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_request")),
        sa.UniqueConstraint("number", name=op.f("uq_req_request_number")),
        sa.UniqueConstraint("token", name=op.f("uq_req_request_token")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("req_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_req_request_case_number"), ["case_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_req_request_category_code"), ["category_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_req_request_deadline_at"), ["deadline_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_req_request_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_req_request_district_code"), ["district_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_req_request_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_req_request_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_req_request_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_req_request_submitted_at"), ["submitted_at"], unique=False
        )

    op.create_table(
        "req_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("added_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["req_request.id"],
            name=op.f("fk_req_attachment_request_id_req_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_attachment")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("req_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_req_attachment_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "req_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=256), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("given_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_req_contact_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["req_request.id"], name=op.f("fk_req_contact_request_id_req_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_contact")),
        sa.UniqueConstraint("request_id", name=op.f("uq_req_contact_request_id")),
        info={
            "dataset": {
                "name": "requests.contact",
                "subject": "id",
                "subject_kind": "request-contact",
                "district": None,
                "time": "given_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("req_contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_req_contact_citizen_id"), ["citizen_id"], unique=False)

    op.create_table(
        "req_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("author_account_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["account.id"],
            name=op.f("fk_req_message_author_account_id_account"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_req_message_department_id_department"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["req_request.id"], name=op.f("fk_req_message_request_id_req_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_message")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("req_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_req_message_request_id"), ["request_id"], unique=False)

    op.create_table(
        "req_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_account_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=128), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_account_id"], ["account.id"], name=op.f("fk_req_step_actor_account_id_account")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_req_step_department_id_department")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["req_request.id"], name=op.f("fk_req_step_request_id_req_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_req_step")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("req_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_req_step_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("req_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_req_step_request_id"))

    op.drop_table("req_step")
    with op.batch_alter_table("req_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_req_message_request_id"))

    op.drop_table("req_message")
    with op.batch_alter_table("req_contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_req_contact_citizen_id"))

    op.drop_table("req_contact")
    with op.batch_alter_table("req_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_req_attachment_request_id"))

    op.drop_table("req_attachment")
    with op.batch_alter_table("req_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_req_request_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_req_request_status"))
        batch_op.drop_index(batch_op.f("ix_req_request_kind"))
        batch_op.drop_index(batch_op.f("ix_req_request_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_req_request_district_code"))
        batch_op.drop_index(batch_op.f("ix_req_request_department_id"))
        batch_op.drop_index(batch_op.f("ix_req_request_deadline_at"))
        batch_op.drop_index(batch_op.f("ix_req_request_category_code"))
        batch_op.drop_index(batch_op.f("ix_req_request_case_number"))

    op.drop_table("req_request")
    op.drop_table("req_open311_client")

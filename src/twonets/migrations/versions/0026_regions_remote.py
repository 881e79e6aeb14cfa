"""regions as separate deployments: remote regions and the documents cached of them

Revision ID: 0026_regions_remote
Revises: 0024_requests_depth
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0026_regions_remote"
down_revision: str | None = "0024_requests_depth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = {"data_class_default": "public"}


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "trust_remote_region",
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        _time("added_at"),
        _time("last_attempt_at", nullable=True),
        _time("last_success_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_trust_remote_region")),
        info=PUBLIC,
    )
    op.create_table(
        "trust_remote_document",
        sa.Column("url", sa.String(length=600), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _time("issued_at"),
        _time("expires_at"),
        _time("refresh_after"),
        _time("fetched_at"),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_trust_remote_document")),
        info=PUBLIC,
    )
    with op.batch_alter_table("trust_remote_document") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trust_remote_document_region_code"), ["region_code"], unique=False
        )
    op.create_table(
        "service_received_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("from_region", sa.String(length=8), nullable=False),
        sa.Column("to_region", sa.String(length=8), nullable=False),
        sa.Column("function", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False, info={"data_class": "personal"}),
        sa.Column("reply_jws", sa.Text(), nullable=True, info={"data_class": "personal"}),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        _time("received_at"),
        _time("answered_at", nullable=True),
        _time("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_received_request")),
        sa.UniqueConstraint("message_id", name=op.f("uq_service_received_request_message_id")),
        info=PUBLIC,
    )
    with op.batch_alter_table("service_received_request") as batch_op:
        batch_op.create_index(
            "ix_service_received_request_to", ["to_region", "function", "status"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("service_received_request") as batch_op:
        batch_op.drop_index("ix_service_received_request_to")
    op.drop_table("service_received_request")
    with op.batch_alter_table("trust_remote_document") as batch_op:
        batch_op.drop_index(batch_op.f("ix_trust_remote_document_region_code"))
    op.drop_table("trust_remote_document")
    op.drop_table("trust_remote_region")

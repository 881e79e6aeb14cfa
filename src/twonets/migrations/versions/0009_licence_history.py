"""licence history

Revision ID: 0009_licence_history
Revises: 0008_accounts
Create Date: 2026-12-06 22:00:00

Every change of a licence gets a history entry (``licence_history``), and a region's
administrator names departments that may change another department's licences of a type
(``licence_delegation``). Licences issued before this revision get the entries their rows
still tell: one for how each version came to be, and one for its present status if it is not
active; the member of staff is not known for those, so their actor is empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0009_licence_history"
down_revision: str | None = "0008_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL = {"data_class": "personal"}


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "licence_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("licence_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False, info=PERSONAL),
        sa.Column("department_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True, info=PERSONAL),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["licence_id"], ["licence.id"], name=op.f("fk_licence_history_licence_id_licence")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_history")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("licence_history", schema=None) as batch_op:
        batch_op.create_index("ix_licence_history_licence_at", ["licence_id", "at"], unique=False)
    op.create_table(
        "licence_delegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("type_code", sa.String(length=6), nullable=False),
        sa.Column("issuer_department_code", sa.String(length=64), nullable=False),
        sa.Column("delegate_department_code", sa.String(length=64), nullable=False),
        sa.Column("actions", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False, info=PERSONAL),
        sa.Column("granted_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_licence_delegation_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_department_code"],
            ["department.code"],
            name=op.f("fk_licence_delegation_issuer_department_code_department"),
        ),
        sa.ForeignKeyConstraint(
            ["delegate_department_code"],
            ["department.code"],
            name=op.f("fk_licence_delegation_delegate_department_code_department"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_delegation")),
        sa.UniqueConstraint(
            "type_code",
            "issuer_department_code",
            "delegate_department_code",
            name=op.f("uq_licence_delegation_type_code"),
        ),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("licence_delegation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_licence_delegation_delegate_department_code"),
            ["delegate_department_code"],
            unique=False,
        )
    # The history licences already have: how each version came to be (issued, or amended
    # when it replaces another), then its present status when that is not "active".
    op.execute(
        "INSERT INTO licence_history (licence_id, action, from_status, to_status, version, "
        "actor, department_code, reason, at) "
        "SELECT id, CASE WHEN supersedes_id IS NULL THEN 'issued' ELSE 'amended' END, NULL, "
        "'active', version, '', issuer_department_code, NULL, issued_at FROM licence"
    )
    op.execute(
        "INSERT INTO licence_history (licence_id, action, from_status, to_status, version, "
        "actor, department_code, reason, at) "
        "SELECT id, status, NULL, status, version, '', NULL, status_reason, "
        "COALESCE(status_changed_at, issued_at) FROM licence WHERE status <> 'active'"
    )


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("licence_delegation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licence_delegation_delegate_department_code"))
    op.drop_table("licence_delegation")
    with op.batch_alter_table("licence_history", schema=None) as batch_op:
        batch_op.drop_index("ix_licence_history_licence_at")
    op.drop_table("licence_history")

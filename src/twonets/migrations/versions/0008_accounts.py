"""accounts: sign-up codes, login attempts and lock-outs

Revision ID: 0008_accounts
Revises: 0007_devices
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0008_accounts"
down_revision: str | None = "0007_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_phone", sa.String(length=20), nullable=True))

    op.create_table(
        "signup_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "code_hash",
            sa.String(length=256),
            nullable=True,
            info={"data_class": "sensitive", "sensitive_kind": "credential"},
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
            name=op.f("fk_signup_message_citizen_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
            name=op.f("fk_signup_message_enterprise_id_enterprise"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_message")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("signup_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signup_message_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_signup_message_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_login_attempt_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_attempt_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_login_attempt_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempt_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempt_username"), ["username"], unique=False)

    op.create_table(
        "login_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("locked_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("unlocked_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlocked_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_login_lock_account_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["unlocked_by"],
            ["account.id"],
            name=op.f("fk_login_lock_unlocked_by_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_lock")),
        info={"data_class_default": "public"},
    )
    with op.batch_alter_table("login_lock", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_lock_locked_at"), ["locked_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_lock_username"), ["username"], unique=False)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("login_lock", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_lock_username"))
        batch_op.drop_index(batch_op.f("ix_login_lock_locked_at"))
    op.drop_table("login_lock")

    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempt_username"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_address"))
        batch_op.drop_index(batch_op.f("ix_login_attempt_account_id"))
    op.drop_table("login_attempt")

    with op.batch_alter_table("signup_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_message_enterprise_id"))
        batch_op.drop_index(batch_op.f("ix_signup_message_citizen_id"))
    op.drop_table("signup_message")

    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_column("contact_phone")

"""licences: holder keys registered by the holder's own wallet (browser or command line)

Revision ID: 0027_holder_keys
Revises: 0026_regions_remote
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0027_holder_keys"
down_revision: str | None = "0026_regions_remote"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC = {"data_class_default": "public"}


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "licence_holder_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=64), nullable=False, info={"data_class": "personal"}),
        sa.Column("jwk", sa.Text(), nullable=False, info={"data_class": "personal"}),
        sa.Column("thumbprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_licence_holder_key_account_id_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_licence_holder_key")),
        sa.UniqueConstraint(
            "account_id", "thumbprint", name=op.f("uq_licence_holder_key_account_id")
        ),
        info=PUBLIC,
    )
    op.create_index(
        op.f("ix_licence_holder_key_account_id"),
        "licence_holder_key",
        ["account_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_licence_holder_key_account_id"), table_name="licence_holder_key")
    op.drop_table("licence_holder_key")

"""terminal enrolment

Terminals are enrolled by operations staff (plate, phone number, the enterprise's credit
code) before they may register; authentication codes are kept only as a SHA-256, with an
expiry and a serial that a reset advances. Terminals that registered on their own before
this revision stay, with their last positions, but as not enrolled: their codes are void and
they are refused until staff enrol them.

Also the address a reporter gives for a case (``ops_case.address``), so that the people sent
read a place rather than coordinates.

Revision ID: 0011_terminal_enrolment
Revises: 0010_codes_authority
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0011_terminal_enrolment"
down_revision: str | None = "0010_codes_authority"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREDENTIAL = {"data_class": "sensitive", "sensitive_kind": "credential"}


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credit_code", sa.String(length=18), nullable=True))
        batch_op.add_column(
            sa.Column("enrolled_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("enrolled_by", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("auth_code_hash", sa.String(length=64), nullable=True, info=_CREDENTIAL)
        )
        batch_op.add_column(
            sa.Column("code_serial", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("code_expires_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.alter_column(
            "registered_at",
            existing_type=twonets.core.db.UTCDateTime(timezone=True),
            nullable=True,
        )
        # Codes handed out before enrolment existed are void: nobody vouched for them.
        batch_op.drop_column("auth_code")
        batch_op.create_index(
            batch_op.f("ix_device_terminal_credit_code"), ["credit_code"], unique=False
        )
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.alter_column("code_serial", server_default=None)
    with op.batch_alter_table("ops_case", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=256), nullable=True))


def downgrade() -> None:
    """Undo this revision.

    The older schema has no place for a terminal that was enrolled but never registered:
    those rows (and nothing else) are removed. The others keep their code's hash as their
    code, which no terminal knows, so they must register again.
    """
    with op.batch_alter_table("ops_case", schema=None) as batch_op:
        batch_op.drop_column("address")
    never = sa.text("SELECT id FROM device_terminal WHERE registered_at IS NULL")
    op.execute(sa.text(f"DELETE FROM device_last_position WHERE terminal_pk IN ({never.text})"))
    op.execute(sa.text("DELETE FROM device_terminal WHERE registered_at IS NULL"))
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "auth_code",
                sa.String(length=64),
                nullable=False,
                server_default="",
                info=_CREDENTIAL,
            )
        )
    op.execute(sa.text("UPDATE device_terminal SET auth_code = COALESCE(auth_code_hash, '')"))
    with op.batch_alter_table("device_terminal", schema=None) as batch_op:
        batch_op.alter_column("auth_code", server_default=None)
        batch_op.drop_index(batch_op.f("ix_device_terminal_credit_code"))
        batch_op.alter_column(
            "registered_at",
            existing_type=twonets.core.db.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch_op.drop_column("code_expires_at")
        batch_op.drop_column("code_serial")
        batch_op.drop_column("auth_code_hash")
        batch_op.drop_column("enrolled_by")
        batch_op.drop_column("enrolled_at")
        batch_op.drop_column("credit_code")

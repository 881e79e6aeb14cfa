"""codes authority

Each scenario names its authority (a department function); a holder's codes are revoked and
restored per scenario, each change kept in ``code_revocation`` with its reason, actor and
time, instead of one status on ``code_holder``.

Revision ID: 0010_codes_authority
Revises: 0009_licence_history
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0010_codes_authority"
down_revision: str | None = "0009_licence_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The authority of each scenario the platform ships; a scenario an administrator added gets
# the government services office's function until they name another.
AUTHORITIES = {
    "health": "health",
    "library": "culture",
    "education": "education",
    "elderly-care": "civil-affairs",
    "sports": "culture",
    "resume": "social-security",
    "identity": "police",
}
FALLBACK_AUTHORITY = "government-services"
# A revocation from before scenarios had authorities withheld every code: it becomes one for
# the identity scenario, which does the same.
IDENTITY = "identity"


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("code_scenario", schema=None) as batch_op:
        batch_op.add_column(sa.Column("authority", sa.String(length=64), nullable=True))
    scenario = sa.table("code_scenario", sa.column("code", sa.String), sa.column("authority"))
    op.execute(
        scenario.update().values(
            authority=sa.case(AUTHORITIES, value=scenario.c.code, else_=FALLBACK_AUTHORITY)
        )
    )
    with op.batch_alter_table("code_scenario", schema=None) as batch_op:
        batch_op.alter_column("authority", existing_type=sa.String(length=64), nullable=False)

    op.create_table(
        "code_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("scenario_code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_department", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", twonets.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("restored_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("restored_by", sa.String(length=64), nullable=True),
        sa.Column("restored_department", sa.String(length=64), nullable=True),
        sa.Column("restore_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_code_revocation_citizen_id_citizen")
        ),
        sa.ForeignKeyConstraint(
            ["holder_id"], ["code_holder.id"], name=op.f("fk_code_revocation_holder_id_code_holder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_revocation")),
        info={
            "dataset": {
                "name": "codes.revocation",
                "subject": "citizen_id",
                "subject_kind": "citizen",
                "district": None,
                "time": "revoked_at",
                "retention": None,
                "minor_birth_date": None,
            },
            "data_class_default": "public",
        },
    )
    with op.batch_alter_table("code_revocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_code_revocation_citizen_id"), ["citizen_id"], unique=False
        )
        batch_op.create_index(
            "ix_code_revocation_holder_scenario", ["holder_id", "scenario_code"], unique=False
        )

    holder = sa.table(
        "code_holder",
        sa.column("id", sa.Integer),
        sa.column("citizen_id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("status_reason", sa.Text),
        sa.column("status_changed_at", twonets.core.db.UTCDateTime(timezone=True)),
    )
    revocation = sa.table(
        "code_revocation",
        sa.column("holder_id", sa.Integer),
        sa.column("citizen_id", sa.Integer),
        sa.column("scenario_code", sa.String),
        sa.column("reason", sa.Text),
        sa.column("revoked_by", sa.String),
        sa.column("revoked_department", sa.String),
        sa.column("revoked_at", twonets.core.db.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    revoked = connection.execute(
        sa.select(
            holder.c.id, holder.c.citizen_id, holder.c.status_reason, holder.c.status_changed_at
        ).where(holder.c.status == "revoked")
    ).all()
    if revoked:
        now = datetime.now(UTC)
        connection.execute(
            revocation.insert(),
            [
                {
                    "holder_id": row.id,
                    "citizen_id": row.citizen_id,
                    "scenario_code": IDENTITY,
                    "reason": row.status_reason or "revoked before scenarios had authorities",
                    "revoked_by": "migration 0010",
                    "revoked_department": "",
                    "revoked_at": row.status_changed_at or now,
                }
                for row in revoked
            ],
        )
    with op.batch_alter_table("code_holder", schema=None) as batch_op:
        batch_op.drop_column("status_changed_at")
        batch_op.drop_column("status_reason")
        batch_op.drop_column("status")


def downgrade() -> None:
    """Undo this revision (a holder with any revocation in force becomes revoked)."""
    with op.batch_alter_table("code_holder", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="valid")
        )
        batch_op.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "status_changed_at", twonets.core.db.UTCDateTime(timezone=True), nullable=True
            )
        )
    holder = sa.table(
        "code_holder",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("status_reason", sa.Text),
    )
    revocation = sa.table(
        "code_revocation",
        sa.column("holder_id", sa.Integer),
        sa.column("restored_at"),
    )
    in_force = sa.select(revocation.c.holder_id).where(revocation.c.restored_at.is_(None))
    op.execute(
        holder.update()
        .where(holder.c.id.in_(in_force))
        .values(status="revoked", status_reason="revoked for a scenario")
    )
    with op.batch_alter_table("code_revocation", schema=None) as batch_op:
        batch_op.drop_index("ix_code_revocation_holder_scenario")
        batch_op.drop_index(batch_op.f("ix_code_revocation_citizen_id"))
    op.drop_table("code_revocation")
    with op.batch_alter_table("code_scenario", schema=None) as batch_op:
        batch_op.drop_column("authority")

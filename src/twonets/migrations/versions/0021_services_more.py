"""services: fill once (form, field origins, consent), BPMN timers

Revision ID: 0021_services_more
Revises: 0017_bikes
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import twonets.core.db

revision: str = "0021_services_more"
down_revision: str | None = "0017_bikes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str) -> sa.Column[object]:
    return sa.Column(name, twonets.core.db.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("service_application") as batch:
        batch.add_column(sa.Column("form", sa.Text(), nullable=True))
        batch.add_column(sa.Column("field_origins", sa.Text(), nullable=True))
        batch.add_column(sa.Column("purpose_code", sa.String(length=64), nullable=True))
        batch.add_column(_time("consented_at"))
        batch.add_column(_time("next_timer_at"))
        batch.create_index("ix_service_application_next_timer_at", ["next_timer_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("service_application") as batch:
        batch.drop_index("ix_service_application_next_timer_at")
        batch.drop_column("next_timer_at")
        batch.drop_column("consented_at")
        batch.drop_column("purpose_code")
        batch.drop_column("field_origins")
        batch.drop_column("form")

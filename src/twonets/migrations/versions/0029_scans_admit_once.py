"""scans: a code admits once (a unique index on the admitted scans of one code)

Revision ID: 0029_scans_admit_once
Revises: 0028_work_leases
Create Date: 2026-12-07 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_scans_admit_once"
down_revision: str | None = "0028_work_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMITTED = "result = 'admitted'"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "uq_code_scan_admitted",
        "code_scan",
        ["code_id"],
        unique=True,
        sqlite_where=sa.text(ADMITTED),
        postgresql_where=sa.text(ADMITTED),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        "uq_code_scan_admitted",
        table_name="code_scan",
        sqlite_where=sa.text(ADMITTED),
        postgresql_where=sa.text(ADMITTED),
    )

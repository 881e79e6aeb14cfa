"""scans: a code admits once (a unique index on the admitted scans of one code)

Revision ID: 0032_scans_admit_once
Revises: 0031_governed_grant_stamp
Create Date: 2026-12-07 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032_scans_admit_once"
down_revision: str | None = "0031_governed_grant_stamp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ADMITTED = "result = 'admitted'"


def upgrade() -> None:
    """Apply this revision."""
    # Before this index two simultaneous first scans of one code could both be admitted.
    # Such a pair is what replay detection exists to flag: the earliest stays admitted, the
    # later ones become replays, so the index can be built on any database.
    op.execute(
        "UPDATE code_scan SET result = 'replay' WHERE result = 'admitted' AND EXISTS ("
        "SELECT 1 FROM code_scan AS earlier WHERE earlier.code_id = code_scan.code_id "
        "AND earlier.result = 'admitted' AND earlier.id < code_scan.id)"
    )
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

"""numbered status lists: a licence's position is (region, list, index), list 0 for those held

Revision ID: 0033_lists_numbered_status_lists
Revises: 0032_scans_admit_once
Create Date: 2026-12-07 11:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_lists_numbered_status_lists"
down_revision: str | None = "0032_scans_admit_once"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    # Every licence issued so far is in its region's list 0 (the list at the URI without a
    # number, which the credentials already issued name).
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status_list", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.drop_constraint("uq_licence_region_code", type_="unique")
        batch_op.create_unique_constraint(
            "uq_licence_region_code", ["region_code", "status_list", "status_index"]
        )
    op.create_table(
        "licence_status_list_fill",
        sa.Column("region_code", sa.String(length=8), nullable=False),
        sa.Column("current_list", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", name=op.f("pk_licence_status_list_fill")),
        info={"data_class_default": "public"},
    )
    # Each region with licences goes on in its list 0, with the positions taken there.
    op.execute(
        "INSERT INTO licence_status_list_fill (region_code, current_list, used) "
        "SELECT region_code, 0, COUNT(*) FROM licence GROUP BY region_code"
    )


def downgrade() -> None:
    """Revert this revision (only while every licence is in list 0)."""
    op.drop_table("licence_status_list_fill")
    with op.batch_alter_table("licence", schema=None) as batch_op:
        batch_op.drop_constraint("uq_licence_region_code", type_="unique")
        batch_op.create_unique_constraint("uq_licence_region_code", ["region_code", "status_index"])
        batch_op.drop_column("status_list")

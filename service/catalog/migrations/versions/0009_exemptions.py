"""exemptions (免报): a body excused from one kind of filing for one period; an index
for the deadline board (a year's filings of each body, whatever their kind)

Revision ID: 0009_exemptions
Revises: 0008_withdrawals
Create Date: 2026-12-08 00:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_exemptions"
down_revision = "0008_withdrawals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exemptions",
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("org_code", "category", "period"),
    )
    op.create_index("ix_filings_org_period", "filings", ["org_code", "period"])


def downgrade() -> None:
    op.drop_index("ix_filings_org_period", table_name="filings")
    op.drop_table("exemptions")

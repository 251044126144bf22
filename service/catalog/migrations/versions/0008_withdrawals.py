"""withdrawals: a filing's withdrawal, and withdraw jobs in the outbox (deliveries.action)

Revision ID: 0008_withdrawals
Revises: 0010_notifications
Create Date: 2026-12-08 00:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_withdrawals"
down_revision = "0010_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A withdraw job shares (filing, version, destination) with that version's publish
    # delivery: the action joins the key.
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("action", sa.String(length=10), nullable=False, server_default="publish")
        )
        batch_op.drop_constraint("uq_delivery_per_version", type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_per_action", ["filing_id", "version", "destination", "action"]
        )
    op.create_table(
        "withdrawals",
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("record_key", sa.String(length=500), nullable=False),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["filing_id"], ["filings.id"]),
        sa.PrimaryKeyConstraint("filing_id"),
    )


def downgrade() -> None:
    op.drop_table("withdrawals")
    op.execute("DELETE FROM deliveries WHERE action <> 'publish'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery_per_action", type_="unique")
        batch_op.create_unique_constraint(
            "uq_delivery_per_version", ["filing_id", "version", "destination"]
        )
        batch_op.drop_column("action")

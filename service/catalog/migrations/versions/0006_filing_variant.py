"""filing variant: the budget kind that, with body, category and period, keys a filing

Revision ID: 0006_variant
Revises: 0003
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0006_variant"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant", sa.String(length=20), nullable=True))
    _backfill_budget_kinds()


def _backfill_budget_kinds() -> None:
    """A budget_final_accounts filing's variant is the budget kind its first version
    was filed as; read in Python (JSON paths differ between SQLite and PostgreSQL)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT f.id, v.metadata_json FROM filings f JOIN filing_versions v"
            " ON v.filing_id = f.id AND v.version = 1"
            " WHERE f.category = 'budget_final_accounts'"
        )
    ).all()
    for filing_id, metadata in rows:
        data = json.loads(metadata) if isinstance(metadata, str) else metadata or {}
        kind = (data.get("budget") or {}).get("kind")
        if isinstance(kind, str):
            bind.execute(
                sa.text("UPDATE filings SET variant = :kind WHERE id = :id"),
                {"kind": kind, "id": filing_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("filings", schema=None) as batch_op:
        batch_op.drop_column("variant")

"""ended_page_sessions: the pages' sessions signed out, so a copy of the cookie ends too

Revision ID: 0011_ended_sessions
Revises: 0004_search
Create Date: 2026-12-08 02:30:00

Self-contained: one new table, nothing else touched, so it can be re-chained after
other migrations by changing `down_revision` alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_ended_sessions"
down_revision = "0004_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ended_page_sessions",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )


def downgrade() -> None:
    op.drop_table("ended_page_sessions")

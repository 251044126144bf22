"""timestamps: the outbox of RFC 3161 stamp jobs and what each token says

Revision ID: 0012_timestamps
Revises: 0011_ended_sessions
Create Date: 2026-12-08 03:00:00

Self-contained: one new table, nothing else touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_timestamps"
down_revision = "0011_ended_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timestamps",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stamped_key", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("tsa", sa.String(length=500), nullable=True),
        sa.Column("token_key", sa.String(length=510), nullable=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("gen_time", sa.DateTime(), nullable=True),
        sa.Column("serial_number", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id", "version"], ["filing_versions.filing_id", "filing_versions.version"]
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stamped_key"),
    )
    op.create_index("ix_timestamps_due", "timestamps", ["status", "next_attempt_at"])
    op.create_index("ix_timestamps_filing_id", "timestamps", ["filing_id"])


def downgrade() -> None:
    op.drop_index("ix_timestamps_filing_id", table_name="timestamps")
    op.drop_index("ix_timestamps_due", table_name="timestamps")
    op.drop_table("timestamps")

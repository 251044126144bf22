"""captures: published pages captured as WARC and re-checked for drift and link rot

Revision ID: 0013_captures
Revises: 0012_timestamps
Create Date: 2026-12-08 04:00:00

Self-contained: one new table, nothing else touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_captures"
down_revision = "0012_timestamps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "captures",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("captured_at", sa.DateTime(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("text_matches", sa.Boolean(), nullable=True),
        sa.Column("attachments_match", sa.Boolean(), nullable=True),
        sa.Column("warc_key", sa.String(length=500), nullable=True),
        sa.Column("warc_sha256", sa.String(length=64), nullable=True),
        sa.Column("etag", sa.String(length=200), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=True),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["filing_id", "version"], ["filing_versions.filing_id", "filing_versions.version"]
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("delivery_id"),
    )
    op.create_index("ix_captures_due", "captures", ["status", "next_attempt_at"])
    op.create_index("ix_captures_filing_id", "captures", ["filing_id"])


def downgrade() -> None:
    op.drop_index("ix_captures_filing_id", table_name="captures")
    op.drop_index("ix_captures_due", table_name="captures")
    op.drop_table("captures")

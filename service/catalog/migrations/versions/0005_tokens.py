"""tokens: bearer tokens issued by `disclosure tokens create`, kept by their secret's SHA-256

Revision ID: 0005_tokens
Revises: 0006_variant
Create Date: 2026-12-02 10:00:00

Self-contained: one new table and its index, nothing else touched, so it can be
re-chained after other migrations by changing `down_revision` alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_tokens"
down_revision = "0006_variant"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("orgs", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_tokens_secret_sha256", "tokens", ["secret_sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_tokens_secret_sha256", table_name="tokens")
    op.drop_table("tokens")

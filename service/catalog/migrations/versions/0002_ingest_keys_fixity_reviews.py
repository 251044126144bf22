"""ingest keys, fixity checks, review status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:38:12.955905
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "fixity_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("checked_by", sa.String(length=100), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fixity_checks_checked_at"), ["checked_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fixity_checks_filing_id"), ["filing_id"], unique=False)

    op.create_table(
        "ingest_keys",
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("filing_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal", "key"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("review_checked_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("filing_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("manifest_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("last_verified_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_verified_ok", sa.Boolean(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("filing_versions", schema=None) as batch_op:
        batch_op.drop_column("last_verified_ok")
        batch_op.drop_column("last_verified_at")
        batch_op.drop_column("manifest_sha256")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("review_checked_at")
        batch_op.drop_column("review_reason")
        batch_op.drop_column("review_status")

    op.drop_table("ingest_keys")
    with op.batch_alter_table("fixity_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fixity_checks_filing_id"))
        batch_op.drop_index(batch_op.f("ix_fixity_checks_checked_at"))

    op.drop_table("fixity_checks")

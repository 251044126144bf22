"""capture checks: captures.rot_kind (how a page is gone: connection failure, 404, 410,
soft 404, sent home, another error, beside its link_rot verdict), and an index of
deliveries by (status, delivered_at) for the tick's queueing of new captures

Revision ID: 0014_capture_checks
Revises: 0013_captures
Create Date: 2026-12-08 05:30:00

Self-contained: one nullable column (the captures already judged keep NULL until their
next re-check; their archived records say what they saw) and one index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_capture_checks"
down_revision = "0013_captures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("captures", sa.Column("rot_kind", sa.String(length=30), nullable=True))
    op.create_index("ix_deliveries_delivered", "deliveries", ["status", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_delivered", table_name="deliveries")
    op.drop_column("captures", "rot_kind")

"""captures.rot_kind: how a page is gone (connection failure, 404, 410, soft 404, sent
home, another error), beside its link_rot verdict

Revision ID: 0014_capture_rot_kind
Revises: 0013_captures
Create Date: 2026-12-08 05:30:00

Self-contained: one nullable column; the captures already judged keep NULL until their
next re-check (their archived records say what they saw).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_capture_rot_kind"
down_revision = "0013_captures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("captures", sa.Column("rot_kind", sa.String(length=30), nullable=True))


def downgrade() -> None:
    op.drop_column("captures", "rot_kind")

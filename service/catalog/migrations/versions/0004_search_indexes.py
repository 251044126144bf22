"""search indexes: the list of filings and the audit trail

Revision ID: 0004_search
Revises: 0009_exemptions
Create Date: 2026-12-07 23:40:00

- filings: `latest_status` and `latest_title`, copied from the latest acknowledged
  version (filled here for the filings there are), and one index per sort of the list,
  (column, created_at, id, latest_version);
- body_names: every name a body has filed under (filled here), for a search by name;
- deliveries: indexes for the list's filters on a delivery's status and review;
- on PostgreSQL with pg_trgm (installed here when the role may: a superuser, or the
  database's owner since pg_trgm is a trusted extension), a trigram index for words of
  three characters or more in titles; without it, or for fewer characters, a search
  by title reads the rows;
- audit_events: `filing_id`, derived from the subject (filled here), and an index per
  filter of the trail, each ending in (at, id).

Self-contained: it reads and writes only what 0001–0003 made and what it creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0004_search"
down_revision = "0009_exemptions"
branch_labels = None
depends_on = None

LISTING_INDEXES = {
    "ix_filings_listed_created": ["created_at", "id", "latest_version"],
    "ix_filings_listed_org_code": ["org_code", "created_at", "id", "latest_version"],
    "ix_filings_listed_org_name": ["org_name", "created_at", "id", "latest_version"],
    "ix_filings_listed_category": ["category", "created_at", "id", "latest_version"],
    "ix_filings_listed_period": ["period", "created_at", "id", "latest_version"],
    "ix_filings_listed_status": ["latest_status", "created_at", "id", "latest_version"],
}
TRIGRAM_INDEXES = {"ix_filings_title_trgm": ("filings", "latest_title")}
REVIEWED = "review_status IS NOT NULL"
AUDIT_INDEXES = {
    "ix_audit_events_filing": ["filing_id", "at", "id"],
    "ix_audit_events_org": ["org_code", "at", "id"],
    "ix_audit_events_actor": ["actor", "at", "id"],
    "ix_audit_events_action": ["action", "at", "id"],
}
# service.domain.ids.filing_id_of in SQL: the subject's first segment, when it is a filing's.
FIRST_SEGMENT = {
    "sqlite": "substr(subject, 1, instr(subject || '/', '/') - 1)",
    "postgresql": "split_part(subject, '/', 1)",
}


def upgrade() -> None:
    bind = op.get_bind()
    _latest_on_filings()
    _body_names()
    op.create_index("ix_deliveries_status_filing", "deliveries", ["status", "filing_id"])
    op.create_index(
        "ix_deliveries_review",
        "deliveries",
        ["review_status", "filing_id", "version"],
        sqlite_where=sa.text(REVIEWED),
        postgresql_where=sa.text(REVIEWED),
    )
    if bind.dialect.name == "postgresql" and _trigrams_available(bind):
        for name, (table, column) in TRIGRAM_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
    _audit_filing_id(bind)


def _latest_on_filings() -> None:
    with op.batch_alter_table("filings") as batch_op:
        batch_op.add_column(sa.Column("latest_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("latest_title", sa.String(length=300), nullable=True))
    latest = (
        " FROM filing_versions v"
        " WHERE v.filing_id = filings.id AND v.version = filings.latest_version)"
    )
    op.execute(
        f"UPDATE filings SET latest_status = (SELECT v.status{latest},"
        f" latest_title = (SELECT v.title{latest} WHERE latest_version > 0"
    )
    for name, columns in LISTING_INDEXES.items():
        op.create_index(name, "filings", columns)


def _body_names() -> None:
    op.create_table(
        "body_names",
        sa.Column("org_code", sa.String(length=18), nullable=False),
        sa.Column("org_name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("org_code", "org_name"),
    )
    op.execute(
        "INSERT INTO body_names (org_code, org_name)"
        " SELECT DISTINCT org_code, org_name FROM filings"
    )


def _trigrams_available(bind: Connection) -> bool:
    """pg_trgm is there, or this role may install it; a refusal is no failure."""
    installed = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    if bind.execute(sa.text(installed)).first():
        return True
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    if not bind.execute(sa.text(available)).first():
        return False
    try:
        with bind.begin_nested():  # a savepoint: a refusal must not abort the migration
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:
        return False
    return True


def _audit_filing_id(bind: Connection) -> None:
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.add_column(sa.Column("filing_id", sa.String(length=40), nullable=True))
    first = FIRST_SEGMENT[bind.dialect.name]
    op.execute(
        f"UPDATE audit_events SET filing_id = {first}"
        f" WHERE subject LIKE 'fil!_%' ESCAPE '!' AND length({first}) <= 40"
    )
    for name, columns in AUDIT_INDEXES.items():
        op.create_index(name, "audit_events", columns)


def downgrade() -> None:
    for name in AUDIT_INDEXES:
        op.drop_index(name, table_name="audit_events")
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("filing_id")
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_deliveries_review", table_name="deliveries")
    op.drop_index("ix_deliveries_status_filing", table_name="deliveries")
    op.drop_table("body_names")
    for name in LISTING_INDEXES:
        op.drop_index(name, table_name="filings")
    with op.batch_alter_table("filings") as batch_op:
        batch_op.drop_column("latest_title")
        batch_op.drop_column("latest_status")

"""The deadline board on SQL: a year's filings of many bodies in one query, and the
exemptions (免报)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from service.catalog.records import AuditEvent, BoardFiling, Exemption
from service.catalog.sql.tables import (
    DeliveryRow,
    ExemptionRow,
    FilingRow,
    VersionRow,
    WithdrawalRow,
)
from service.catalog.sql.unit import UnitOfWork, audit_row, record
from service.domain.errors import exemption_exists
from service.domain.filing import VersionStatus

_UNACKNOWLEDGED = (VersionStatus.RESERVED, VersionStatus.ABANDONED)
BUDGET = "budget_final_accounts"


class SqlDeadlines(UnitOfWork):
    def board_filings(self, org_codes: frozenset[str] | None, year: int) -> list[BoardFiling]:
        with self._transaction() as session:
            # Core rows, past the ORM: a district's board reads hundreds of them.
            rows = session.connection().execute(_board_query(org_codes, year)).all()
            return [_board_filing(row) for row in rows if row.filed_at is not None]

    def add_exemption(self, exemption: Exemption, event: AuditEvent) -> None:
        try:
            with self._transaction() as session:
                session.add(ExemptionRow(**vars(exemption)))
                session.flush()
                session.add(audit_row(event, self._clock()))
        except IntegrityError as exc:
            raise exemption_exists(
                exemption.org_code, exemption.category, exemption.period
            ) from exc

    def exemptions(
        self, org_codes: frozenset[str] | None, period: str | None = None
    ) -> list[Exemption]:
        with self._transaction() as session:
            stmt = select(ExemptionRow).order_by(
                ExemptionRow.org_code, ExemptionRow.category, ExemptionRow.period
            )
            if org_codes is not None:
                stmt = stmt.where(ExemptionRow.org_code.in_(org_codes))
            if period is not None:
                stmt = stmt.where(ExemptionRow.period == period)
            return [record(Exemption, r) for r in session.scalars(stmt)]


def _board_query(org_codes: frozenset[str] | None, year: int) -> Any:
    """Filings whose period is the year ("2023") or a day in it ("2023-05-06"): as
    strings, "2023" <= period < "2024". The latest version is joined only for budgets,
    whose approval date decides their due day."""
    latest = VersionRow.__table__.alias("latest")
    stmt = (
        select(
            FilingRow.id,
            FilingRow.org_code,
            FilingRow.category,
            FilingRow.period,
            FilingRow.variant,
            _first_acknowledged().label("filed_at"),
            _first_published().label("published_at"),
            latest.c.metadata_json,
            _withdrawn().label("withdrawn"),
        )
        .outerjoin(
            latest,
            and_(
                latest.c.filing_id == FilingRow.id,
                latest.c.version == FilingRow.latest_version,
                FilingRow.category == BUDGET,
            ),
        )
        .where(FilingRow.period >= str(year), FilingRow.period < str(year + 1))
        .order_by(FilingRow.org_code, FilingRow.category, FilingRow.period, FilingRow.id)
    )
    if org_codes is not None:
        stmt = stmt.where(FilingRow.org_code.in_(org_codes))
    return stmt


def _first_acknowledged() -> Any:
    return (
        select(func.min(VersionRow.created_at))
        .where(VersionRow.filing_id == FilingRow.id, VersionRow.status.notin_(_UNACKNOWLEDGED))
        .scalar_subquery()
    )


def _first_published() -> Any:
    return (
        select(func.min(DeliveryRow.delivered_at))
        .where(DeliveryRow.filing_id == FilingRow.id, DeliveryRow.destination == "portal")
        .scalar_subquery()
    )


def _withdrawn() -> ColumnElement[bool]:
    """Whether the filing was withdrawn (a withdrawn filing takes no later version: a new
    filing for its key is another filing)."""
    return select(WithdrawalRow.filing_id).where(WithdrawalRow.filing_id == FilingRow.id).exists()


def _board_filing(row: Any) -> BoardFiling:
    budget = (row.metadata_json or {}).get("budget") if row.metadata_json else None
    approved = budget.get("approved_on") if isinstance(budget, dict) else None
    return BoardFiling(
        filing_id=row.id,
        org_code=row.org_code,
        category=row.category,
        period=row.period,
        variant=row.variant,
        filed_at=row.filed_at,
        published_at=row.published_at,
        approved_on=approved if isinstance(approved, str) else None,
        withdrawn=bool(row.withdrawn),
    )

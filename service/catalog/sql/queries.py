"""Reading filings on SQL: one with its versions and deliveries, or a search.

A search first finds the page's keys, then reads the page:

1. The bodies: the token's, the one asked for, those whose name holds the words asked
   for (`body_names`, a few thousand rows): one set of org codes, or any body.
2. The keys: every sort is (column, created_at, id), with an index of that shape over
   the listed filings (tables.FilingRow). The query reads the sort's index in order
   and stops at the page's end — or, for a set of bodies, their ranges of the
   (org_code, created_at, id) index, keeping the best n — reading only key columns,
   so a filter on the index's columns never touches the table. A later page starts
   after the previous page's last key (keyset): page 100 costs what page 1 does.
3. The page: its filings, then their versions and their deliveries, one query each.

Filters are columns of `filings` itself (the latest version's status and title are
copied there) or indexed lookups in `deliveries`. The total counts the same filter, up
to the query's `count_up_to` ("1,000+" beyond); a first page that holds every match is its own total.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, select, text, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.catalog.records import (
    FilingPage,
    FilingQuery,
    FilingRecord,
    FilingSort,
    ListingKey,
    VersionRecord,
    WithdrawalRecord,
)
from service.catalog.sql.tables import (
    AttemptRow,
    Base,
    BodyNameRow,
    DeliveryRow,
    FilingRow,
    VersionRow,
    WithdrawalRow,
)
from service.catalog.sql.unit import UnitOfWork, delivery_record, record, version_record

_SORTS: dict[FilingSort, tuple[InstrumentedAttribute[Any], ...]] = {
    FilingSort.CREATED_AT: (FilingRow.created_at, FilingRow.id),
    **{
        sort: (getattr(FilingRow, sort.value), FilingRow.created_at, FilingRow.id)
        for sort in FilingSort
        if sort is not FilingSort.CREATED_AT
    },
}
Bodies = frozenset[str] | None  # None: any body
R = TypeVar("R")


class SqlFilings(UnitOfWork):
    def ping(self) -> None:
        with self._transaction() as session:
            session.execute(text("SELECT 1"))

    def get_filing(self, filing_id: str, *, with_attempts: bool = True) -> FilingRecord | None:
        with self._transaction() as session:
            row = session.get(FilingRow, filing_id)
            return None if row is None else _filing(session, row, with_attempts=with_attempts)

    def get_version(self, filing_id: str, version: int) -> VersionRecord | None:
        with self._transaction() as session:
            row = session.get(VersionRow, (filing_id, version))
            return None if row is None else version_record(row)

    def list_filings(self, query: FilingQuery) -> list[FilingRecord]:
        with self._transaction() as session:
            return list(_page(session, query, _bodies(session, query))[0])

    def count_filings(self, query: FilingQuery) -> int:
        with self._transaction() as session:
            return _count(session, query, _bodies(session, query))

    def search_filings(self, query: FilingQuery) -> FilingPage:
        with self._transaction() as session:
            bodies = _bodies(session, query)
            filings, after = _page(session, query, bodies)
            whole = after is None and query.after is None and query.offset == 0
            limit = query.count_up_to
            total = len(filings) if whole else _count(session, query, bodies, limit)
            return FilingPage(filings, min(total, limit), after, total_exact=total <= limit)


def _bodies(session: Session, query: FilingQuery) -> Bodies:
    """The bodies whose filings may match: what the token sees, the body asked for and
    those named by the words asked for, all at once."""
    sets = [query.org_codes]
    if query.org_code is not None:
        sets.append(frozenset({query.org_code}))
    if query.org_name:
        named = select(BodyNameRow.org_code).where(_holds(BodyNameRow.org_name, query.org_name))
        sets.append(frozenset(session.scalars(named)))
    known = [s for s in sets if s is not None]
    return frozenset.intersection(*known) if known else None


def _page(
    session: Session, query: FilingQuery, bodies: Bodies
) -> tuple[tuple[FilingRecord, ...], ListingKey | None]:
    """The page's filings, whole, and the key of its last when more follow."""
    if bodies is not None and not bodies:
        return (), None
    keys = _SORTS[query.sort]
    stmt = select(*keys).where(*_conditions(session, query, bodies, counting=False))
    if query.after is not None:  # the page begins after where the last one ended
        stmt = stmt.where(
            tuple_(*keys) < query.after if query.descending else tuple_(*keys) > query.after
        )
    stmt = (
        stmt.order_by(*(k.desc() if query.descending else k.asc() for k in keys))
        .limit(query.limit + 1)
        .offset(query.offset)
    )
    found = session.execute(stmt).all()
    page = found[: query.limit]
    after = tuple(page[-1]) if len(found) > len(page) else None
    return _whole(session, [row.id for row in page]), after


def _count(session: Session, query: FilingQuery, bodies: Bodies, at_most: int | None = None) -> int:
    """How many match; with `at_most`, counting stops at one more than that (a broad
    search at a million filings then costs milliseconds, not a scan of them all)."""
    if bodies is not None and not bodies:
        return 0
    if at_most is not None and query.delivery_status is not None:
        return _count_by_deliveries(session, query, bodies, at_most)
    conditions = list(_conditions(session, query, bodies, counting=True))
    if at_most is None:
        stmt = select(func.count()).select_from(FilingRow).where(*conditions)
    else:
        matching = select(FilingRow.id).where(*conditions).limit(at_most + 1).subquery()
        stmt = select(func.count()).select_from(matching)
    return int(session.scalar(stmt) or 0)


def _count_by_deliveries(session: Session, query: FilingQuery, bodies: Bodies, at_most: int) -> int:
    """Filings with a delivery in a status, counted up to `at_most` + 1 from the
    deliveries' (status, filing_id) index: it stops there however common the status
    (IN reads every delivery in it first: 0.5 s for a million on SQLite), and a rare
    status is a short walk."""
    other = replace(query, delivery_status=None)
    matching = (
        select(DeliveryRow.filing_id)
        .join(FilingRow, FilingRow.id == DeliveryRow.filing_id)
        .where(DeliveryRow.status == query.delivery_status)
        .where(*_conditions(session, other, bodies, counting=True))
        .distinct()
        .limit(at_most + 1)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def _whole(session: Session, ids: Sequence[str]) -> tuple[FilingRecord, ...]:
    """The filings of a page, in its order, with their versions and deliveries: one
    query for each."""
    if not ids:
        return ()
    filings = {r["id"]: r for r in _of_filings(session, FilingRow, ids)}
    versions = _by_filing(_of_filings(session, VersionRow, ids, VersionRow.version), version_record)
    deliveries = _by_filing(
        _of_filings(
            session,
            DeliveryRow,
            ids,
            DeliveryRow.version,
            DeliveryRow.destination,
            DeliveryRow.action,
        ),
        delivery_record,
    )
    withdrawals = {
        r["filing_id"]: record(WithdrawalRecord, r)
        for r in _of_filings(session, WithdrawalRow, ids)
    }
    return tuple(
        record(
            FilingRecord,
            filings[i],
            versions=tuple(versions[i]),
            deliveries=tuple(deliveries[i]),
            withdrawal=withdrawals.get(i),
        )
        for i in ids
    )


def _of_filings(
    session: Session, row: type[Base], ids: Sequence[str], *order: InstrumentedAttribute[Any]
) -> list[dict[str, Any]]:
    """The rows of a table that belong to these filings (the filings' own, by id)."""
    key = FilingRow.id if row is FilingRow else row.filing_id  # type: ignore[attr-defined]
    return _dicts(session, select(row.__table__).where(key.in_(ids)).order_by(key, *order))


def _by_filing(
    rows: list[dict[str, Any]], make: Callable[[dict[str, Any]], R]
) -> dict[str, list[R]]:
    grouped: dict[str, list[R]] = defaultdict(list)
    for row in rows:
        grouped[row["filing_id"]].append(make(row))
    return grouped


def _dicts(session: Session, stmt: Select[Any]) -> list[dict[str, Any]]:
    """Core rows as dicts, past the ORM: a page's few hundred rows cost their values only."""
    result = session.connection().execute(stmt)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


def _filing(session: Session, row: FilingRow, *, with_attempts: bool) -> FilingRecord:
    versions = session.scalars(
        select(VersionRow).where(VersionRow.filing_id == row.id).order_by(VersionRow.version)
    ).all()
    deliveries = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.filing_id == row.id)
        .order_by(DeliveryRow.version, DeliveryRow.destination, DeliveryRow.action)
    ).all()
    withdrawal = session.get(WithdrawalRow, row.id)
    return record(
        FilingRecord,
        row,
        withdrawal=None if withdrawal is None else record(WithdrawalRecord, withdrawal),
        versions=tuple(version_record(v) for v in versions),
        deliveries=tuple(
            delivery_record(d, _attempts(session, d.id) if with_attempts else ())
            for d in deliveries
        ),
    )


def _attempts(session: Session, delivery_id: str) -> Sequence[AttemptRow]:
    return session.scalars(
        select(AttemptRow).where(AttemptRow.delivery_id == delivery_id).order_by(AttemptRow.id)
    ).all()


def _conditions(
    session: Session, query: FilingQuery, bodies: Bodies, *, counting: bool
) -> Iterator[ColumnElement[bool]]:
    # A filing never acknowledged (only reserved or abandoned versions) is not listed.
    yield FilingRow.latest_version > 0
    if bodies is not None:
        yield (
            FilingRow.org_code.in_(bodies)
            if len(bodies) > 1
            else FilingRow.org_code == next(iter(bodies))
        )
    for column, value in (
        (FilingRow.category, query.category),
        (FilingRow.period, query.period),
        (FilingRow.latest_status, query.status),
    ):
        if value is not None:
            yield column == value
    if query.title:
        yield _holds(FilingRow.latest_title, query.title)
    if query.submitted_since is not None:
        yield FilingRow.created_at >= query.submitted_since
    if query.submitted_until is not None:
        yield FilingRow.created_at < query.submitted_until
    yield from _deliveries(query, counting=counting)


def _holds(column: InstrumentedAttribute[Any], words: str) -> ColumnElement[bool]:
    """The words anywhere in the text, taken literally (% and _ escaped): LIKE, which on
    PostgreSQL the trigram indexes of migration 0004 serve for three characters or more."""
    return column.contains(words, autoescape=True)


def _deliveries(query: FilingQuery, *, counting: bool) -> Iterator[ColumnElement[bool]]:
    """Filings with a delivery in a status: a page walks its index and asks each filing
    it meets (EXISTS, one index probe), which stops at the page's end however common
    the status; a count asks the deliveries once for every filing they name (IN), which
    is what a rare status needs. Reviews are rare (the legal platform's only): the
    filings whose latest version a destination reviewed so are asked for once (IN)."""
    if query.delivery_status is not None:
        status = DeliveryRow.status == query.delivery_status
        yield (
            FilingRow.id.in_(select(DeliveryRow.filing_id).where(status))
            if counting
            else exists().where(DeliveryRow.filing_id == FilingRow.id, status)
        )
    if query.review_status is not None:
        yield tuple_(FilingRow.id, FilingRow.latest_version).in_(
            select(DeliveryRow.filing_id, DeliveryRow.version).where(
                DeliveryRow.review_status == query.review_status
            )
        )

"""Every catalog port on one SQL database."""

from __future__ import annotations

from service.catalog.sql.captures import SqlCaptures
from service.catalog.sql.deadlines import SqlDeadlines
from service.catalog.sql.logs import SqlAuditLog, SqlFixity
from service.catalog.sql.notifications import SqlNotifications
from service.catalog.sql.outbox import SqlOutbox
from service.catalog.sql.queries import SqlFilings
from service.catalog.sql.replacements import SqlReplacements
from service.catalog.sql.reservations import SqlReservations
from service.catalog.sql.reviews import SqlReviews
from service.catalog.sql.schedules import SqlSchedules
from service.catalog.sql.timestamps import SqlTimestamps
from service.catalog.sql.tokens import SqlTokens
from service.catalog.sql.withdrawals import SqlWithdrawals


class SqlCatalog(
    SqlReservations,
    SqlOutbox,
    SqlReviews,
    SqlFixity,
    SqlAuditLog,
    SqlNotifications,
    SqlFilings,
    SqlTokens,
    SqlWithdrawals,
    SqlSchedules,
    SqlReplacements,
    SqlDeadlines,
    SqlTimestamps,
    SqlCaptures,
):
    """service.catalog.ports.Catalog on SQLAlchemy: `SqlCatalog(sessions, clock=...)`."""

"""Every catalog port on one SQL database."""

from __future__ import annotations

from service.catalog.sql.deadlines import SqlDeadlines
from service.catalog.sql.logs import SqlAuditLog, SqlFixity
from service.catalog.sql.outbox import SqlOutbox
from service.catalog.sql.queries import SqlFilings
from service.catalog.sql.reservations import SqlReservations
from service.catalog.sql.reviews import SqlReviews


class SqlCatalog(
    SqlReservations, SqlOutbox, SqlReviews, SqlFixity, SqlAuditLog, SqlFilings, SqlDeadlines
):
    """service.catalog.ports.Catalog on SQLAlchemy: `SqlCatalog(sessions, clock=...)`."""

"""The catalog on SQL (SQLite by default, PostgreSQL for scale): one class per port,
composed into `SqlCatalog`; `CatalogRestore` for disaster recovery.

Each public method is one transaction. Claiming uses `FOR UPDATE SKIP LOCKED` (on
PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE instead) and a lease, so
any number of workers can drain the outbox and a dead worker's rows come back when
its lease runs out. Every update made on behalf of a claim is fenced by the lease
owner: a worker that lost its lease cannot overwrite the row's new owner.
"""

from service.catalog.sql.catalog import SqlCatalog

__all__ = ["SqlCatalog"]

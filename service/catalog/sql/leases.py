"""Claiming an outbox's due rows under a lease: the notifications', the timestamps' and
the captures' (the deliveries' claim joins its filings and has its own,
service.catalog.sql.outbox).

A row is due when pending, its next attempt has come and no live lease holds it; each
claimed row gets a token of its own (`{worker}:{random}`) that fences its settlement,
so a worker whose lease ran out cannot settle what another now holds."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session


def claim_due(
    session: Session,
    row: Any,
    due: str | Collection[str],
    *,
    worker: str,
    limit: int,
    lease: timedelta,
    now: datetime,
) -> Sequence[Any]:
    """Up to `limit` due rows of the table `row` maps — in the status `due` (or one of
    them), their next attempt come — oldest due first, leased now. Rows another
    transaction has locked are passed over (SKIP LOCKED)."""
    statuses = [due] if isinstance(due, str) else list(due)
    query = (
        select(row)
        .where(
            row.status.in_(statuses),
            row.next_attempt_at <= now,
            or_(row.lease_expires_at.is_(None), row.lease_expires_at <= now),
        )
        .order_by(row.next_attempt_at, row.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = session.scalars(query).all()
    for found in rows:
        found.lease_owner = f"{worker}:{secrets.token_hex(6)}"
        found.lease_expires_at = now + lease
        found.first_attempt_at = found.first_attempt_at or now
    session.flush()
    return rows

"""Ids the service gives: a filing's, a delivery's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """Sortable-enough, unguessable: a date prefix for people, a random suffix for uniqueness.

    new_id("fil") → "fil_20240112a1b2c3d4e5f6"
    """
    return f"{prefix}_{datetime.now(UTC):%Y%m%d}{secrets.token_hex(6)}"


def filing_id_of(subject: str) -> str | None:
    """The filing an audit event's subject names, if it names one.

    filing_id_of("fil_20240112a1b2c3d4e5f6/v2")     → "fil_20240112a1b2c3d4e5f6"
    filing_id_of("fil_20240112a1b2c3d4e5f6/portal") → "fil_20240112a1b2c3d4e5f6"
    filing_id_of("catalog")                          → None
    """
    head = subject.split("/", 1)[0]
    return head if head.startswith("fil_") and len(head) <= 40 else None

"""Ids the service gives: a filing's, a delivery's."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_id(prefix: str) -> str:
    """Sortable-enough, unguessable: a date prefix for people, a random suffix for uniqueness.

    new_id("fil") → "fil_20240112a1b2c3d4e5f6"
    """
    return f"{prefix}_{datetime.now(UTC):%Y%m%d}{secrets.token_hex(6)}"

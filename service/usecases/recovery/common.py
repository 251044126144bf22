"""What reconcile and rebuild share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from service.domain.filing import VersionStatus

LIVE = frozenset({VersionStatus.ARCHIVED, VersionStatus.PUBLISHED, VersionStatus.DELIVERY_FAILED})
STUCK_AFTER = timedelta(hours=1)  # far longer than any package write takes

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    pass

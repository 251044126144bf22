"""What reconcile and rebuild share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from service.domain.filing import ARCHIVED_STATUSES

LIVE = ARCHIVED_STATUSES  # every version whose package should be complete
STUCK_AFTER = timedelta(hours=1)  # far longer than any package write takes

Progress = Callable[[str], None]


def no_progress(_: str) -> None:
    pass

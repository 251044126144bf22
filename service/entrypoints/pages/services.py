"""What the pages are handed besides the API's services: their session settings and the
registry of bodies (for the form's choice of body and 单位名录)."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.catalog.ports import PageSessions
from service.domain.org import OrgRegistry
from service.entrypoints.pages.throttle import SignInThrottle


@dataclass(frozen=True)
class PageServices:
    session_secret: str
    signed_out: PageSessions  # the catalog: sessions signed out, for every process alike
    session_idle_s: float = 1800.0
    bodies: OrgRegistry = field(default_factory=OrgRegistry)
    # Per process: behind several API replicas a client gets this many per replica.
    throttle: SignInThrottle = field(default_factory=lambda: SignInThrottle(per_minute=5))

"""What the pages are handed besides the API's services: their session settings and the
registry of bodies (for the form's choice of body and 单位名录)."""

from __future__ import annotations

from dataclasses import dataclass, field

from service.catalog.ports import PageSessions
from service.domain.org import OrgRegistry


@dataclass(frozen=True)
class PageServices:
    session_secret: str
    signed_out: PageSessions  # the catalog: sessions signed out, for every process alike
    session_idle_s: float = 1800.0
    bodies: OrgRegistry = field(default_factory=OrgRegistry)
    # Failed sign-ins an address may make in a minute, counted in the audit log: the
    # same limit however many API replicas it is spread over.
    sign_in_failures_per_minute: int = 5

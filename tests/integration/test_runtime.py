"""Which destinations a development process simulates."""

from __future__ import annotations

import httpx

from service.bootstrap import destinations
from service.domain.filing import Destination
from service.settings import Settings


def test_a_simulator_starts_only_for_a_destination_some_route_uses() -> None:
    settings = Settings.model_validate({"routes": {"rule_of_law_report": ["portal"]}})
    with destinations(settings) as found:
        assert found.simulated == [Destination.PORTAL]
        assert found.urls[Destination.LEGAL_PLATFORM] is None
        portal = found.urls[Destination.PORTAL]
        assert portal is not None
        assert httpx.get(f"{portal}/_admin/stats").status_code == 200


def test_a_destination_with_a_url_is_not_simulated() -> None:
    settings = Settings.model_validate({"portal_url": "https://portal.example.gov.cn"})
    with destinations(settings) as found:
        assert found.simulated == [Destination.LEGAL_PLATFORM]
        assert found.urls[Destination.PORTAL] == "https://portal.example.gov.cn"

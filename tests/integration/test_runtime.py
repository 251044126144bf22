"""Which destinations a development process simulates."""

from __future__ import annotations

import httpx

from service.runtime import destinations
from service.settings import Settings


def test_a_simulator_starts_only_for_a_destination_some_route_uses() -> None:
    settings = Settings.model_validate({"routes": {"rule_of_law_report": ["portal"]}})
    with destinations(settings) as (urls, simulated):
        assert simulated == ["portal"]
        assert urls.legal_platform is None
        assert urls.portal is not None
        assert httpx.get(f"{urls.portal}/_admin/stats").status_code == 200


def test_a_destination_with_a_url_is_not_simulated() -> None:
    settings = Settings.model_validate({"portal_url": "https://portal.example.gov.cn"})
    with destinations(settings) as (urls, simulated):
        assert simulated == ["legal_platform"]
        assert urls.portal == "https://portal.example.gov.cn"

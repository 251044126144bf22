"""What an operations team watches (issue 11): /metrics in Prometheus's format, no token
needed, counting what the service did — read before and after, since a process has one
registry."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.bootstrap import Container, build_worker
from service.delivery.port import Delivered
from tests.fakes import ScriptedPortal
from tests.support.bodies import sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text, sample_report

DEMO = "demo-token-metrics"
AUTH = {"Authorization": f"Bearer {DEMO}"}


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": DEMO, "routes": {"rule_of_law_report": ["portal"]}}


def _samples(api: httpx.Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = api.get("/metrics")  # no token
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _submit(api: httpx.Client, text: str, period: str = "2023") -> httpx.Response:
    return api.post(
        "/v1/filings",
        headers=AUTH,
        data={"metadata": json.dumps(sample_metadata(period=period), ensure_ascii=False)},
        files={"file": ("report.docx", docx_from_text(text))},
    )


def test_metrics_count_requests_filings_findings_deliveries_and_fixity(
    api: httpx.Client, container: Container
) -> None:
    before = _samples(api)
    accepted = _submit(api, SAMPLE_PATH.read_text("utf-8"))
    refused = _submit(api, sample_report(2022).replace("2023年1月10日", ""), period="2022")
    assert (accepted.status_code, refused.status_code) == (201, 422)
    filing_id = accepted.json()["id"]
    api.get(f"/v1/filings/{filing_id}", headers=AUTH)
    pending = _samples(api)

    portal = ScriptedPortal([Delivered({"article_id": "a1", "url": "https://p/a1.html"})])
    assert build_worker(container, {"portal": portal}).run_once() == 1
    assert api.post(f"/v1/filings/{filing_id}/verify", headers=AUTH).status_code == 200
    after = _samples(api)

    def grew(name: str, samples: dict[Any, float] = after, **labels: str) -> float:
        return _value(samples, name, **labels) - _value(before, name, **labels)

    rol = "rule_of_law_report"
    assert grew("disclosure_filings_total", category=rol, outcome="accepted") == 1
    assert grew("disclosure_filings_total", category=rol, outcome="refused") == 1
    assert grew("disclosure_findings_total", code="rol_date_missing", severity="error") == 1
    assert (
        grew("disclosure_http_requests_total", method="POST", route="/v1/filings", status="201")
        == 1
    )
    assert (
        grew(
            "disclosure_http_requests_total",
            method="GET",
            route="/v1/filings/{filing_id}",
            status="200",
        )
        == 1
    )
    assert _value(pending, "disclosure_outbox_pending") == 1
    assert _value(after, "disclosure_outbox_pending") == 0
    assert (
        grew("disclosure_delivery_attempts_total", destination="portal", outcome="delivered") == 1
    )
    assert grew("disclosure_fixity_checks_total", outcome="ok") == 1
    assert ("disclosure_outbox_oldest_due_seconds", frozenset()) in after


@pytest.mark.parametrize("service_settings", [{"demo_token": DEMO, "metrics_port": 9}])
def test_with_a_port_of_their_own_metrics_are_not_on_the_api(api: httpx.Client) -> None:
    assert api.get("/metrics").status_code == 404

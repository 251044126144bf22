"""An operator re-queues a failed delivery; compliance staff find failed ones."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.delivery.port import Failed
from tests.fakes import ScriptedPortal
from tests.support.bodies import sample_metadata
from tests.support.documents import SAMPLE_PATH
from tests.support.worker import run_worker_once

OPERATOR = "demo-retry-operator"
AUDITOR = "compliance-token-for-every-body-0002"


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "demo_token": OPERATOR,
        "routes": {"rule_of_law_report": ["portal"]},
        "tokens": [{"name": "auditor", "token": AUDITOR, "role": "compliance", "orgs": ["*"]}],
    }


def _failed_filing(api: httpx.Client, container: Container) -> str:
    response = api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        data={"metadata": json.dumps(sample_metadata())},
        files={"file": ("r.txt", SAMPLE_PATH.read_bytes())},
    )
    assert response.status_code == 201, response.text
    portal = ScriptedPortal([Failed("forbidden", "configuration: channel not permitted", 403)])
    run_worker_once(container, {"portal": portal})
    return str(response.json()["id"])


def test_failed_deliveries_are_listed_and_an_operator_requeues_one(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _failed_filing(api, container)
    failed = api.get(
        "/v1/filings",
        params={"delivery_status": "failed"},
        headers={"Authorization": f"Bearer {AUDITOR}"},
    ).json()
    assert [f["id"] for f in failed["filings"]] == [filing_id]
    assert failed["filings"][0]["status"] == "delivery_failed"

    response = api.post(
        f"/v1/filings/{filing_id}/deliveries/portal/retry",
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "pending"
    filing = api.get(
        f"/v1/filings/{filing_id}", headers={"Authorization": f"Bearer {OPERATOR}"}
    ).json()
    assert filing["deliveries"][0]["status"] == "pending"
    assert filing["deliveries"][0]["attempt_log"][0]["code"] == "forbidden"
    assert "delivery.retry_requested" in [e.action for e in container.catalog.audit_events()]
    assert (
        api.get(
            "/v1/filings",
            params={"delivery_status": "failed"},
            headers={"Authorization": f"Bearer {AUDITOR}"},
        ).json()["filings"]
        == []
    )


def test_compliance_staff_may_not_requeue(api: httpx.Client, container: Container) -> None:
    filing_id = _failed_filing(api, container)
    response = api.post(
        f"/v1/filings/{filing_id}/deliveries/portal/retry",
        headers={"Authorization": f"Bearer {AUDITOR}"},
    )
    assert response.status_code == 403


def test_a_delivery_that_has_not_failed_cannot_be_requeued(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _failed_filing(api, container)
    api.post(
        f"/v1/filings/{filing_id}/deliveries/portal/retry",
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    again = api.post(
        f"/v1/filings/{filing_id}/deliveries/portal/retry",
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "no_failed_delivery"

"""One filing per body, kind and period for the annual kinds, corrected in versions that
say why (issue 12). A second, different 2023 report of a body is refused and pointed at
its correction, so the portal never shows two and the legal platform never refuses the
second; a correction without a reason is refused; the reason is shown and published."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.catalog.records import FilingQuery
from tests.support.bodies import sample_metadata
from tests.support.documents import docx_from_text, sample_report

DEMO = "demo-token-one-filing-per-period"
AUTH = {"Authorization": f"Bearer {DEMO}"}


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": DEMO, "routes": {"rule_of_law_report": ["portal"]}}


def _report(mark: str = "", later: int = 0) -> bytes:
    return docx_from_text(sample_report(2023 + later, mark))


def _post(
    api: httpx.Client, content: bytes, path: str = "/v1/filings", **meta: Any
) -> httpx.Response:
    return api.post(
        path,
        headers=AUTH,
        data={"metadata": json.dumps(sample_metadata(**meta), ensure_ascii=False)},
        files={"file": ("报告.docx", content)},
    )


def test_a_second_different_report_for_the_year_is_refused_and_pointed_at_its_correction(
    api: httpx.Client, container: Container
) -> None:
    first = _post(api, _report()).json()
    second = _post(api, _report("（另一稿）"))
    assert second.status_code == 409, second.text
    error = second.json()["error"]
    assert error["code"] == "already_filed" and error["filing_id"] == first["id"]
    assert f"/v1/filings/{first['id']}/versions" in error["message_zh"]
    assert len(container.catalog.list_filings(FilingQuery())) == 1
    same_bytes = _post(api, _report())
    assert same_bytes.json()["error"]["code"] == "duplicate_filing"
    other_year = _post(api, _report(later=1), period="2024")
    assert other_year.status_code == 201, other_year.text


def test_a_correction_needs_a_reason_and_shows_it(api: httpx.Client) -> None:
    first = _post(api, _report()).json()
    path = f"/v1/filings/{first['id']}/versions"
    refused = _post(api, _report("（更正）"), path=path)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "correction_reason_missing"
    blank = _post(api, _report("（更正）"), path=path, reason="   ")
    assert blank.status_code == 400 and blank.json()["error"]["code"] == "invalid_metadata"
    corrected = _post(api, _report("（更正）"), path=path, reason="第三部分数据有误")
    assert corrected.status_code == 201, corrected.text
    versions = corrected.json()["versions"]
    assert [v["reason"] for v in versions] == [None, "第三部分数据有误"]
    shown = api.get(f"/v1/filings/{first['id']}", headers=AUTH).json()
    assert shown["versions"][1]["reason"] == "第三部分数据有误"

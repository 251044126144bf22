"""Searching filings and reading the audit trail through the HTTP API, as compliance
staff and operators would: words, sorts, pages by cursor, totals, refusals of what the
service did not write, and the trail of who did what — submissions refused and packages
downloaded included."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.catalog.records import AuditEvent, NewVersion
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = "demo-test-token"
OTHER = "operator-token-for-the-other-body-only"
AUDITOR = "compliance-token-for-every-body-0001"
NANKAI_AUDITOR = "compliance-token-for-nankai-only-0001"


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "demo_token": OPERATOR,
        "tokens": [
            {"name": "other-operator", "token": OTHER, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": AUDITOR, "role": "compliance", "orgs": ["*"]},
            {
                "name": "nankai-auditor",
                "token": NANKAI_AUDITOR,
                "role": "compliance",
                "orgs": [NANKAI_OFFICE],
            },
        ],
    }


def _get(api: httpx.Client, path: str, token: str = AUDITOR, **params: Any) -> httpx.Response:
    return api.get(path, headers={"Authorization": f"Bearer {token}"}, params=params)


def _filed(container: Container, org: tuple[str, str], title: str, period: str) -> str:
    """A filing straight into the catalog: the list reads nothing else."""

    def version(fid: str, number: int) -> NewVersion:
        return NewVersion(
            "r.pdf", "pdf", "application/pdf", 1, "0" * 64, title, f"p/{fid}/", {}, [], None
        )

    fid, number = container.catalog.reserve_version(
        filing_id=None,
        org_code=org[0],
        org_name=org[1],
        category="rule_of_law_report",
        period=period,
        actor="op",
        make_version=version,
    )
    event = AuditEvent("op", "operator", "filing.submitted", f"{fid}/v{number}", org[0])
    container.catalog.complete_version(fid, number, ["portal"], event)
    return fid


@pytest.fixture
def filed(container: Container) -> list[str]:
    nankai, other = (NANKAI_OFFICE, "南开区合作交流办"), (OTHER_BODY, "南开区司法局")
    made = []
    for year in range(2019, 2024):
        made.append(
            _filed(container, nankai, f"南开区合作交流办{year}年度法治政府建设情况报告", str(year))
        )
        made.append(_filed(container, other, f"南开区司法局{year}年部门预算", str(year)))
    return made


def test_words_and_filters_find_filings_with_the_total_of_every_page(
    api: httpx.Client, filed: list[str]
) -> None:
    answer = _get(api, "/v1/filings", title="法治", org_name="交流", limit=2).json()
    assert answer["total"] == 5 and len(answer["filings"]) == 2
    assert all("法治" in f["title"] for f in answer["filings"])
    assert answer["next_cursor"]
    assert _get(api, "/v1/filings", org_name="司法", period="2020").json()["total"] == 1
    assert _get(api, "/v1/filings", title="100%").json() == {
        "filings": [],
        "total": 0,
        "total_exact": True,
        "next_cursor": None,
    }


def test_next_cursor_walks_every_filing_once_in_the_sort_asked(
    api: httpx.Client, filed: list[str]
) -> None:
    seen, cursor = [], None
    while True:
        params = {"sort": "period", "order": "asc", "limit": 3}
        answer = _get(api, "/v1/filings", **params, **({"cursor": cursor} if cursor else {})).json()
        seen += [(f["period"], f["id"]) for f in answer["filings"]]
        assert answer["total"] == 10
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert sorted(i for _, i in seen) == sorted(filed)
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)


def test_an_operator_sees_only_its_bodies_filings(api: httpx.Client, filed: list[str]) -> None:
    answer = _get(api, "/v1/filings", token=OTHER).json()
    assert answer["total"] == 5
    assert {f["org_code"] for f in answer["filings"]} == {OTHER_BODY}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, "invalid_cursor"),
        ({"cursor": "!!"}, "invalid_request"),
        ({"submitted_since": "2024-01-01T00:00:00"}, "invalid_request"),
        ({"submitted_since": "2024-13-01T00:00:00+08:00"}, "invalid_time"),
        ({"submitted_since": "0001-01-01T00:00:00+08:00"}, "invalid_time"),  # no UTC time
        ({"sort": "title"}, "invalid_request"),
        ({"orgname": "南开"}, "unknown_parameter"),
        ({"cursor": "eyJ9", "offset": "5"}, "cursor_with_offset"),
    ],
)
def test_a_bad_search_is_refused_with_its_code(
    api: httpx.Client, params: dict[str, str], code: str
) -> None:
    response = _get(api, "/v1/filings", **params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_a_cursor_of_another_sort_is_refused(api: httpx.Client, filed: list[str]) -> None:
    cursor = _get(api, "/v1/filings", limit=2).json()["next_cursor"]
    response = _get(api, "/v1/filings", cursor=cursor, sort="period")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_cursor"


# -- the audit trail ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_docx() -> bytes:
    return docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))


def _submit(api: httpx.Client, content: bytes, filename: str) -> httpx.Response:
    return api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {OPERATOR}", "X-Request-ID": "req-0001"},
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": (filename, content)},
    )


def test_a_refused_submission_is_in_the_trail_with_its_finding_codes(api: httpx.Client) -> None:
    assert _submit(api, b"", "report.docx").status_code == 422
    [item] = _get(api, "/v1/audit", action="filing.refused").json()["items"]
    assert (item["actor"], item["role"]) == ("demo-operator", "operator")
    assert item["org_code"] == NANKAI_OFFICE and item["filing_id"] is None
    assert item["subject"] == f"{NANKAI_OFFICE}/rule_of_law_report/2023"
    assert "file_empty" in item["detail"]["codes"]
    assert item["request_id"] == "req-0001" and item["source"] == "127.0.0.1"


def test_a_downloaded_package_is_in_the_trail_of_its_filing(
    api: httpx.Client, sample_docx: bytes
) -> None:
    filing = _submit(api, sample_docx, "report.docx").json()
    download = api.get(
        f"/v1/filings/{filing['id']}/package", headers={"Authorization": f"Bearer {AUDITOR}"}
    )
    assert download.status_code == 200
    items = _get(api, "/v1/audit", filing_id=filing["id"]).json()["items"]
    assert [(i["action"], i["actor"]) for i in items] == [
        ("package.downloaded", "auditor"),
        ("filing.submitted", "demo-operator"),
    ]
    assert items[0]["subject"] == f"{filing['id']}/v1" and items[0]["detail"] == {"version": 1}


def test_the_trail_is_for_compliance_and_admins_only(api: httpx.Client) -> None:
    response = _get(api, "/v1/audit", token=OPERATOR)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_role"


def test_the_trail_shows_a_token_only_its_bodies_events(
    api: httpx.Client, container: Container, filed: list[str]
) -> None:
    container.catalog.audit(AuditEvent("admin", "admin", "catalog.rebuilt", "catalog"))
    mine = _get(api, "/v1/audit", token=NANKAI_AUDITOR, limit=500).json()["items"]
    assert mine and {i["org_code"] for i in mine} == {NANKAI_OFFICE}
    every = _get(api, "/v1/audit", limit=500).json()["items"]
    assert every[0]["action"] == "catalog.rebuilt" and every[0]["org_code"] is None
    assert len(every) == 11


def test_the_trail_pages_newest_first_by_its_cursor(api: httpx.Client, filed: list[str]) -> None:
    first = _get(api, "/v1/audit", limit=4).json()
    second = _get(api, "/v1/audit", limit=4, cursor=first["next_cursor"]).json()
    subjects = [i["subject"] for i in first["items"] + second["items"]]
    assert len(set(subjects)) == 8
    assert [i["at"] for i in first["items"]] == sorted(
        (i["at"] for i in first["items"]), reverse=True
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": "2024-01-01"}, "invalid_request"),
        ({"until": "1700000000"}, "invalid_request"),
        ({"since": "2024-02-30T00:00:00Z"}, "invalid_time"),
        ({"until": "9999-12-31T23:59:59-08:00"}, "invalid_time"),  # past year 9999 in UTC
        ({"cursor": "eyJhdCI6IDF9"}, "invalid_cursor"),
        ({"subject": "x"}, "unknown_parameter"),
    ],
)
def test_a_bad_trail_query_is_refused_with_its_code(
    api: httpx.Client, params: dict[str, str], code: str
) -> None:
    response = _get(api, "/v1/audit", **params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code

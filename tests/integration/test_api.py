"""The HTTP API through a real client against uvicorn on 127.0.0.1: what an operator sees."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata, uscc
from tests.support.documents import SAMPLE_PATH, docx_from_text, pdf_from_text

DEMO = "demo-test-token"
BOUND = "operator-token-for-the-other-body-only"
COMPLIANCE = "compliance-token-for-every-body-0001"
LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def sample_docx() -> bytes:
    return docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "demo_token": DEMO,
        "max_upload_bytes": LIMIT,
        "tokens": [
            {"name": "other-operator", "token": BOUND, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": COMPLIANCE, "role": "compliance", "orgs": ["*"]},
        ],
    }


def _submit(
    api: httpx.Client,
    content: bytes,
    filename: str = "report.docx",
    token: str = DEMO,
    metadata: Any = None,
) -> httpx.Response:
    meta = (
        metadata
        if isinstance(metadata, str)
        else json.dumps(metadata or sample_metadata(), ensure_ascii=False)
    )
    return api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {token}"},
        data={"metadata": meta},
        files={"file": (filename, content)},
    )


def _nothing_stored(container: Container) -> None:
    archive = container.settings.data_dir / "archive"
    assert not [p for p in archive.rglob("*") if p.is_file()], "something was archived"
    assert container.catalog.count_deliveries() == 0


def test_a_valid_report_is_accepted_archived_and_queued(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    response = _submit(api, sample_docx, "南开区合作交流办2023年法治政府建设情况报告.docx")
    assert response.status_code == 201, response.text
    filing = response.json()
    assert filing["version"] == 1 and filing["status"] == "archived"
    assert filing["findings"] == []
    assert filing["title"] == "南开区合作交流办党组2023年度法治政府建设情况报告"
    assert [(d["destination"], d["status"]) for d in filing["deliveries"]] == [
        ("legal_platform", "pending"),
        ("portal", "pending"),
    ]
    assert response.headers["x-request-id"]
    fetched = api.get(
        f"/v1/filings/{filing['id']}", headers={"Authorization": f"Bearer {DEMO}"}
    ).json()
    assert fetched["sha256"] == filing["sha256"]
    assert [e.action for e in container.catalog.audit_events()] == ["filing.submitted"]


def test_the_archived_package_holds_the_file_under_its_chinese_name(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    filing = _submit(api, sample_docx, "报告.docx").json()
    prefix = filing["versions"][0]["package"]
    stored = container.settings.data_dir / "archive" / prefix / "data" / "报告.docx"
    assert stored.read_bytes() == sample_docx


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (b"", "report.docx", "file_empty"),
        (pdf_from_text("2023年度法治政府建设情况报告"), "report.docx", "file_type_mismatch"),
        (b"\x00\x01\x02\xff" * 100, "report.bin", "file_type_unsupported"),
    ],
    ids=["empty file", "pdf named docx", "binary garbage"],
)
def test_a_bad_file_is_refused_with_its_finding_and_nothing_is_stored(
    api: httpx.Client, container: Container, content: bytes, filename: str, code: str
) -> None:
    response = _submit(api, content, filename)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert code in [f["code"] for f in error["findings"]]
    assert all(f["message_zh"] and f["message_en"] for f in error["findings"])
    _nothing_stored(container)


def test_an_upload_over_the_limit_is_refused_with_413(
    api: httpx.Client, container: Container
) -> None:
    response = _submit(api, b"x" * (LIMIT + 10), "big.txt")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    _nothing_stored(container)


@pytest.mark.parametrize(
    ("metadata", "status", "code"),
    [
        ("{not json", 400, "invalid_metadata"),
        (json.dumps({"category": "rule_of_law_report"}), 400, "invalid_metadata"),
        (json.dumps(sample_metadata(category="poems")), 400, "invalid_metadata"),
        (
            json.dumps(
                sample_metadata(
                    org_code=NANKAI_OFFICE[:17] + ("0" if NANKAI_OFFICE[17] != "0" else "1")
                )
            ),
            422,
            "org_code_invalid",
        ),
    ],
    ids=["not json", "fields missing", "unknown category", "bad USCC check character"],
)
def test_bad_metadata_is_refused_and_nothing_is_stored(
    api: httpx.Client,
    container: Container,
    sample_docx: bytes,
    metadata: str,
    status: int,
    code: str,
) -> None:
    response = _submit(api, sample_docx, metadata=metadata)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert code == error["code"] or code in [f["code"] for f in error.get("findings", [])]
    _nothing_stored(container)


def test_a_missing_token_is_refused_with_401(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    response = api.post(
        "/v1/filings",
        data={"metadata": json.dumps(sample_metadata())},
        files={"file": ("r.docx", sample_docx)},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    _nothing_stored(container)


def test_a_token_acting_for_another_body_is_refused_with_403(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    response = _submit(api, sample_docx, token=BOUND)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden_body"
    _nothing_stored(container)


def test_compliance_staff_may_read_but_not_submit(api: httpx.Client, sample_docx: bytes) -> None:
    filing = _submit(api, sample_docx).json()
    headers = {"Authorization": f"Bearer {COMPLIANCE}"}
    assert api.get(f"/v1/filings/{filing['id']}", headers=headers).status_code == 200
    assert _submit(api, sample_docx, token=COMPLIANCE).json()["error"]["code"] == "forbidden_role"


def test_a_filing_of_another_body_is_not_found_for_its_operator(
    api: httpx.Client, sample_docx: bytes
) -> None:
    filing = _submit(api, sample_docx).json()
    response = api.get(f"/v1/filings/{filing['id']}", headers={"Authorization": f"Bearer {BOUND}"})
    assert response.status_code == 404
    listed = api.get("/v1/filings", headers={"Authorization": f"Bearer {BOUND}"}).json()
    assert listed["filings"] == []
    correcting = api.post(  # with its own body's metadata: still not even "exists"
        f"/v1/filings/{filing['id']}/versions",
        headers={"Authorization": f"Bearer {BOUND}"},
        data={"metadata": json.dumps(sample_metadata(org_code=OTHER_BODY))},
        files={"file": ("report.docx", sample_docx)},
    )
    assert correcting.status_code == 404
    assert correcting.json()["error"]["code"] == "filing_not_found"


def test_filings_are_filtered_by_body_category_period_and_status(
    api: httpx.Client, sample_docx: bytes
) -> None:
    filing = _submit(api, sample_docx).json()
    headers = {"Authorization": f"Bearer {DEMO}"}

    def ids(**params: str) -> list[str]:
        return [
            f["id"]
            for f in api.get("/v1/filings", headers=headers, params=params).json()["filings"]
        ]

    assert ids(
        org_code=NANKAI_OFFICE, category="rule_of_law_report", period="2023", status="archived"
    ) == [filing["id"]]
    assert ids(period="2022") == []
    assert ids(org_code=uscc("11120104MB0000009")) == []
    assert api.get("/v1/filings", headers=headers, params={"status": "nonsense"}).status_code == 400


def test_a_pdf_is_accepted_like_the_docx(api: httpx.Client) -> None:
    response = _submit(api, pdf_from_text(SAMPLE_PATH.read_text(encoding="utf-8")), "report.pdf")
    assert response.status_code == 201, response.text
    assert response.json()["findings"] == []


def test_a_txt_report_is_refused_for_the_legal_platform_which_takes_no_text(
    api: httpx.Client, container: Container
) -> None:
    response = _submit(api, SAMPLE_PATH.read_bytes(), "report.txt")
    assert response.status_code == 422
    [finding] = response.json()["error"]["findings"]
    assert finding["code"] == "destination_file_type"
    assert finding["where"] == "destination:legal_platform"
    assert "天津市法律顾问管理服务平台" in finding["message_zh"]
    _nothing_stored(container)


def test_validation_alone_stores_nothing(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    response = api.post(
        "/v1/validations",
        headers={"Authorization": f"Bearer {DEMO}"},
        data={"metadata": json.dumps(sample_metadata(period="2022"))},
        files={"file": ("r.docx", sample_docx)},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert "rol_title_year_mismatch" in [f["code"] for f in body["findings"]]
    _nothing_stored(container)


@pytest.mark.parametrize("declared", ["right", "wrong"])
def test_a_declared_file_sha256_is_checked_against_the_file(
    api: httpx.Client, container: Container, sample_docx: bytes, declared: str
) -> None:
    sha256 = hashlib.sha256(sample_docx if declared == "right" else b"other").hexdigest()

    response = _submit(api, sample_docx, metadata=sample_metadata(file_sha256=sha256))

    if declared == "right":
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422
    [finding] = response.json()["error"]["findings"]
    assert (finding["code"], finding["where"]) == ("file_sha256_mismatch", "file")
    assert hashlib.sha256(sample_docx).hexdigest() in finding["message_en"]
    _nothing_stored(container)


def test_health_and_readiness(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"catalog": "ok", "archive": "ok"}


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b'{"a": 1}', "application/json", "multipart_required"),
        (
            b'--B\r\nContent-Disposition: form-data; name="extra"\r\n\r\nx\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
            "malformed_multipart",
        ),
        (
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nx\r\n'
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\n\r\ny\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
            "malformed_multipart",
        ),
        (
            b'--B\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
            + json.dumps(sample_metadata()).encode()
            + b"\r\n--B--\r\n",
            "multipart/form-data; boundary=B",
            "file_missing",
        ),
    ],
    ids=["not multipart", "an unexpected part", "two files", "no file part"],
)
def test_a_malformed_body_is_refused_with_its_code_and_nothing_is_stored(
    api: httpx.Client, container: Container, body: bytes, content_type: str, code: str
) -> None:
    response = api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {DEMO}", "Content-Type": content_type},
        content=body,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code
    _nothing_stored(container)


def test_the_example_in_the_quick_start_is_accepted(api: httpx.Client) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    response = api.post(
        "/v1/filings",
        headers={"Authorization": f"Bearer {DEMO}"},
        data={"metadata": (examples / "metadata.json").read_text(encoding="utf-8")},
        files={
            "file": (
                "binhe-2023-fazhi-report.docx",
                (examples / "binhe-2023-fazhi-report.docx").read_bytes(),
            )
        },
    )
    assert response.status_code == 201, response.text
    assert not [f for f in response.json()["findings"] if f["severity"] == "error"]

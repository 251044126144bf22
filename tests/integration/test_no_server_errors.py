"""No input yields a 500 (issue 11): each cause an adversarial test found answers a 4xx
with a stable code and a message in Chinese and English, carries X-Request-ID, and
leaves the connection usable. A bug that does escape is still answered with the
error envelope and the request id, and logged with both."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from service.bootstrap import Container, build_adapters, build_worker
from service.bootstrap import destinations as destination_urls
from service.catalog.records import FilingQuery
from service.delivery.port import DestinationAdapter
from service.entrypoints.api.app import create_app
from service.entrypoints.api.services import ApiServices
from tests.fakes import MemoryCatalog
from tests.support.bodies import NANKAI_NAME, sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import app_in_thread

DEMO = "demo-token-no-server-errors"
BOUNDARY = "x" * 32


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": DEMO}


def _docx(n: int) -> bytes:
    return docx_from_text(SAMPLE_PATH.read_text("utf-8") + f"\n附件{n}")


def _raw_submission(metadata: str, filename: bytes, content: bytes) -> bytes:
    """A multipart body written byte for byte (clients escape what this test must send)."""
    return b"".join(
        (
            f"--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="metadata"\r\n\r\n',
            metadata.encode(),
            f"\r\n--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n',
            b"Content-Type: application/octet-stream\r\n\r\n",
            content,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        )
    )


def _post(api: httpx.Client, body: bytes, boundary: str = BOUNDARY) -> httpx.Response:
    return api.post(
        "/v1/filings",
        content=body,
        headers={
            "Authorization": f"Bearer {DEMO}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )


def _metadata(**changes: object) -> str:
    return json.dumps(sample_metadata(**changes), ensure_ascii=False)


def _assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message_zh"] and error["message_en"]
    assert len(response.headers["x-request-id"]) >= 8


QUERIES = [
    ("/v1/filings?orgcode=11120104MB0000001X", 400, "unknown_parameter"),
    ("/v1/filings?offset=9223372036854775808", 400, "invalid_request"),
    ("/v1/filings?limit=99999999999999999999", 400, "invalid_request"),
    ("/v1/filings?period=20%0023", 400, "invalid_request"),
    ("/v1/filings?org_code=11120104MB0000001%00", 400, "invalid_request"),
    ("/v1/filings/fil_%00abc", 400, "invalid_request"),
    ("/v1/filings/..%2F..%2Fetc", 404, "not_found"),
]


@pytest.mark.parametrize(("path", "status", "code"), QUERIES)
def test_a_query_or_path_out_of_range_is_refused(
    api: httpx.Client, path: str, status: int, code: str
) -> None:
    _assert_refused(api.get(path, headers={"Authorization": f"Bearer {DEMO}"}), status, code)


SUBMISSIONS = [
    ("NUL in org_name", _metadata(org_name="南开区\x00合作交流办"), b"r.docx", "invalid_metadata"),
    (
        "newline in org_name",
        _metadata(org_name="南开区\n合作交流办"),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "ESC in the review",
        _metadata(
            review={"reviewer": "李\x1b明", "reviewed_on": "2024-01-11", "result": "同意公开"}
        ),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "publish_at without a zone",
        _metadata(publish_at="2024-01-12T10:00:00"),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "org_code with a trailing space",
        _metadata(org_code="11120104MB00000012 "),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "org_code climbing out",
        _metadata(org_code="../../../etc/passwd"),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "org_code of 18 characters beyond the BMP (found by schemathesis)",
        _metadata(org_code="\U000523c0·\U000c9556ÝÜd\U000fe89d:\U000821bb\U00107e23ÖF深圳市南开区"),
        b"r.docx",
        "invalid_metadata",
    ),
    (
        "metadata nested 50,000 deep",
        "[" * 50_000 + "]" * 50_000,
        b"r.docx",
        "invalid_metadata",
    ),
    ("NUL in the file name", _metadata(), b"r\x00.docx", "invalid_filename"),
    ("a file name of 300 bytes", _metadata(), "报".encode() * 100 + b".docx", "invalid_filename"),
]


@pytest.mark.parametrize(
    ("metadata", "filename", "code"),
    [case[1:] for case in SUBMISSIONS],
    ids=[case[0] for case in SUBMISSIONS],
)
def test_bad_metadata_or_file_name_is_refused_before_anything_is_stored(
    api: httpx.Client, container: Container, metadata: str, filename: bytes, code: str
) -> None:
    _assert_refused(_post(api, _raw_submission(metadata, filename, _docx(1))), 400, code)
    assert container.catalog.list_filings(FilingQuery()) == []


def test_a_boundary_over_70_characters_is_refused(api: httpx.Client) -> None:
    long = "b" * 300
    body = _raw_submission(_metadata(), b"r.docx", _docx(2)).replace(
        BOUNDARY.encode(), long.encode()
    )
    _assert_refused(_post(api, body, boundary=long), 400, "malformed_multipart")


def test_the_connection_stays_usable_after_a_refusal(api: httpx.Client) -> None:
    refused = api.get("/v1/filings?offset=-1", headers={"Authorization": f"Bearer {DEMO}"})
    again = api.get("/healthz")
    assert refused.status_code == 400 and again.status_code == 200


def test_a_wrong_method_says_which_are_allowed_and_probes_may_use_head(
    api: httpx.Client,
) -> None:
    wrong = api.delete("/v1/filings", headers={"Authorization": f"Bearer {DEMO}"})
    _assert_refused(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"]
    assert api.head("/readyz").status_code == 200
    assert api.head("/healthz").status_code == 200


class BrokenCatalog(MemoryCatalog):
    """A catalog with a bug in one query: what a 500 must still look like."""

    def search_filings(self, query: Any) -> Any:
        raise RuntimeError("a bug, not an input")


@pytest.fixture
def broken_api(container: Container) -> Iterator[httpx.Client]:
    services = container.api()
    broken = ApiServices(**{**services.__dict__, "catalog": BrokenCatalog()})
    with (
        app_in_thread(create_app(broken)) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def test_a_bug_is_answered_500_with_the_envelope_and_the_request_id_and_logged(
    broken_api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    response = broken_api.get(
        "/v1/filings",
        headers={"Authorization": f"Bearer {DEMO}", "X-Request-ID": "probe-request-0001"},
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert response.headers["x-request-id"] == "probe-request-0001"
    assert broken_api.get("/healthz").status_code == 200  # the same keep-alive connection
    logged = capsys.readouterr().out
    assert "unhandled_error" in logged and "probe-request-0001" in logged
    request_line = next(line for line in logged.splitlines() if "status=500" in line)
    assert "probe-request-0001" in request_line


# -- accepted means deliverable ------------------------------------------------------------


@pytest.mark.parametrize("filename", [b"report", b"\xe6\x8a\xa5\xe5\x91\x8a.2023", b""])
def test_a_file_without_a_usable_extension_is_stored_and_delivered_as_its_type(
    api: httpx.Client, container: Container, filename: bytes
) -> None:
    """A DOCX named 「report」 (or 「报告.2023」, or nothing) is archived as report.docx
    and the legal platform, which reads the type from the extension, takes it."""
    body = _raw_submission(_metadata(), filename, _docx(3))
    if not filename:  # no filename attribute at all
        body = body.replace(b'; filename=""', b"")
    accepted = _post(api, body)
    assert accepted.status_code == 201, accepted.text
    [version] = accepted.json()["versions"]
    assert version["filename"].endswith(".docx")
    with _real_destinations(container) as adapters:
        worker = build_worker(container, adapters)
        for _ in range(20):  # bounded: a handful of rounds settle two deliveries
            if not worker.run_once():
                break
    filing = container.catalog.get_filing(accepted.json()["id"])
    assert filing is not None
    assert {d.destination: d.status for d in filing.deliveries} == {
        "portal": "delivered",
        "legal_platform": "delivered",
    }
    stored = container.packages.read_manifest(filing.versions[0].package_prefix)
    assert f"data/{version['filename']}" in stored


def test_the_package_names_the_body_as_the_registry_does(
    api: httpx.Client, container: Container
) -> None:
    """The metadata may use an alias (南开区合作交流办); bag-info.txt has the registry's
    full name."""
    accepted = _post(api, _raw_submission(_metadata(), b"report.docx", _docx(4)))
    assert accepted.status_code == 201, accepted.text
    prefix = accepted.json()["versions"][0]["package"]
    with container.store.open(f"{prefix}bag-info.txt") as bag_info:
        lines = bag_info.read().decode().splitlines()
    assert f"Source-Organization: {NANKAI_NAME}" in lines


@contextmanager
def _real_destinations(container: Container) -> Iterator[dict[str, DestinationAdapter]]:
    """Both destinations' simulators, as `serve` starts them in development."""
    with destination_urls(container.settings) as found:
        yield build_adapters(container, found.urls)


def test_a_metadata_problem_names_its_field_in_chinese(api: httpx.Client) -> None:
    """Operators read the Chinese message: it names the field and what is wrong with it."""
    metadata = _metadata(period="二〇二三", review={"reviewer": "李明", "result": "同意公开"})
    response = _post(api, _raw_submission(metadata, b"r.docx", _docx(3)))
    _assert_refused(response, 400, "invalid_metadata")
    error = response.json()["error"]
    assert "字段 period 格式不符" in error["message_zh"] and "另有 1 处" in error["message_zh"]
    assert "period" in error["message_en"]
    assert {"field": "review.reviewed_on", "msg_zh": "缺少此项"}.items() <= next(
        p for p in error["problems"] if p["field"] == "review.reviewed_on"
    ).items()


def test_a_bad_query_value_names_its_parameter_in_chinese(api: httpx.Client) -> None:
    response = api.get("/v1/filings?limit=0", headers={"Authorization": f"Bearer {DEMO}"})
    _assert_refused(response, 400, "invalid_request")
    assert "字段 limit 数值过小" in response.json()["error"]["message_zh"]

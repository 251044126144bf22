"""Submitting through the API onto Ceph RGW, in a bucket with versioning and Object Lock
(the production shape): a large payload goes up as a multipart upload while the filing
is validated and reserved, and it becomes visible only once the filing is accepted. A
refused, duplicate or failed submission leaves no object and no unfinished upload."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service.archive.packages import package_prefix
from service.bootstrap import Container, build_container
from service.delivery.port import Delivered
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.fakes import ScriptedPortal
from tests.support.bodies import sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, write_padded_docx
from tests.support.proxy import tcp_proxy
from tests.support.s3 import S3Server
from tests.support.servers import app_in_thread
from tests.support.worker import run_worker_once

TOKEN = "demo-s3-ingest-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MiB = 1024 * 1024
LARGE = 6 * MiB  # two parts: 5 MiB and the rest


@pytest.fixture
def bucket(ceph_s3: S3Server) -> str:
    return ceph_s3.new_bucket("locked")


@pytest.fixture
def service_settings(
    ceph_s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ceph_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ceph_s3.secret_key)
    return {
        "demo_token": TOKEN,
        "archive_url": f"s3://{bucket}/archive",
        "s3_endpoint_url": ceph_s3.endpoint_url,
    }


@pytest.fixture
def report(tmp_path: Path) -> Path:
    return write_padded_docx(tmp_path / "report.docx", SAMPLE_PATH.read_text("utf-8"), LARGE)


def _post(
    api: httpx.Client, path: Path, metadata: dict[str, Any], url: str = "/v1/filings"
) -> httpx.Response:
    with path.open("rb") as file:
        return api.post(
            url,
            headers=AUTH,
            data={"metadata": json.dumps(metadata, ensure_ascii=False)},
            files={"file": ("报告.docx", file)},
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _multipart(metadata: dict[str, Any], content: bytes, boundary: str = "b0undary") -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="metadata"\r\n\r\n'
            f"{json.dumps(metadata, ensure_ascii=False)}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="报告.docx"\r\n\r\n'
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _eventually(check: Callable[[], bool], within_s: float = 10) -> bool:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _objects(s3: S3Server, bucket: str) -> list[str]:
    listing = s3.shared_client.list_object_versions(Bucket=bucket)
    return sorted(v["Key"] for v in listing.get("Versions", []))


def _unfinished_uploads(s3: S3Server, bucket: str) -> list[str]:
    return [
        u["Key"] for u in s3.shared_client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    ]


def _payload_key(filing: dict[str, Any], version: int = 1) -> str:
    prefix = package_prefix(
        filing["org_code"], filing["category"], filing["period"], filing["id"], version
    )
    return f"archive/{prefix}data/报告.docx"


@pytest.fixture
def s3_api(api: httpx.Client, container: Container) -> Iterator[httpx.Client]:
    assert container.store.describe().startswith("s3://")
    yield api


def test_a_large_filing_goes_up_in_parts_and_its_package_is_complete_and_verifies(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    response = _post(s3_api, report, sample_metadata())

    assert response.status_code == 201, response.text
    filing = response.json()
    head = ceph_s3.shared_client.head_object(Bucket=bucket, Key=_payload_key(filing))
    assert head["ETag"].endswith('-2"')  # a multipart upload of two parts
    assert head["ContentLength"] == report.stat().st_size
    assert head["ObjectLockMode"] == "COMPLIANCE"
    verified = s3_api.post(f"/v1/filings/{filing['id']}/verify", headers=AUTH).json()
    assert verified["ok"], verified
    assert _unfinished_uploads(ceph_s3, bucket) == []


def test_a_refused_large_filing_leaves_no_object_and_no_unfinished_upload(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    metadata = sample_metadata()
    del metadata["review"]  # the portal needs the 保密审查 record

    response = _post(s3_api, report, metadata)

    assert response.status_code == 422, response.text
    assert _objects(ceph_s3, bucket) == []
    assert _unfinished_uploads(ceph_s3, bucket) == []


def test_many_refused_large_filings_at_once_leave_nothing(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, tmp_path: Path
) -> None:
    files = [
        write_padded_docx(tmp_path / f"r{n}.docx", SAMPLE_PATH.read_text("utf-8") + f"\n{n}", LARGE)
        for n in range(12)
    ]
    metadata = sample_metadata()
    del metadata["review"]

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda path: _post(s3_api, path, metadata).status_code, files))

    assert set(answers) == {422}
    assert _objects(ceph_s3, bucket) == []
    assert _unfinished_uploads(ceph_s3, bucket) == []  # aborted before each 422


def test_a_duplicate_large_filing_is_refused_and_leaves_nothing_more(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    first = _post(s3_api, report, sample_metadata())
    assert first.status_code == 201, first.text
    stored = _objects(ceph_s3, bucket)

    second = _post(s3_api, report, sample_metadata())

    assert second.status_code == 409, second.text
    assert first.json()["id"] in second.text
    assert _objects(ceph_s3, bucket) == stored
    assert _unfinished_uploads(ceph_s3, bucket) == []


@pytest.mark.parametrize(
    "declared", [False, True], ids=["received first", "declared, as it arrives"]
)
def test_a_large_correction_goes_up_in_parts_as_the_next_version(
    s3_api: httpx.Client,
    ceph_s3: S3Server,
    bucket: str,
    report: Path,
    tmp_path: Path,
    declared: bool,
) -> None:
    filing = _post(s3_api, report, sample_metadata()).json()
    text = SAMPLE_PATH.read_text("utf-8") + "\n（更正：补充附件说明）"
    corrected = write_padded_docx(tmp_path / "corrected.docx", text, LARGE)
    metadata = sample_metadata(reason="补充附件说明")
    if declared:
        metadata["file_sha256"] = _sha256(corrected)

    response = _post(s3_api, corrected, metadata, f"/v1/filings/{filing['id']}/versions")

    assert response.status_code == 201, response.text
    versions = {v["version"]: v["status"] for v in response.json()["versions"]}
    assert versions == {1: "superseded", 2: "archived"}  # never delivered: no worker runs here
    head = ceph_s3.shared_client.head_object(Bucket=bucket, Key=_payload_key(response.json(), 2))
    assert head["ETag"].endswith('-2"')
    assert _unfinished_uploads(ceph_s3, bucket) == []


# -- a declared SHA-256: the file goes to the archive while it is received ----------


def test_a_filing_that_declares_its_sha256_is_archived_as_it_arrives(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    response = _post(s3_api, report, sample_metadata(file_sha256=_sha256(report)))

    assert response.status_code == 201, response.text
    head = ceph_s3.shared_client.head_object(Bucket=bucket, Key=_payload_key(response.json()))
    assert head["ETag"].endswith('-2"')
    assert head["Metadata"]["sha256"] == _sha256(report)
    verified = s3_api.post(f"/v1/filings/{response.json()['id']}/verify", headers=AUTH).json()
    assert verified["ok"], verified
    assert _unfinished_uploads(ceph_s3, bucket) == []


def test_a_file_that_is_not_the_one_declared_is_refused_and_leaves_nothing(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    response = _post(s3_api, report, sample_metadata(file_sha256="0" * 64))

    assert response.status_code == 422, response.text
    [finding] = [f for f in response.json()["error"]["findings"] if f["severity"] == "error"]
    assert finding["code"] == "file_sha256_mismatch"
    assert _sha256(report) in finding["message_zh"]
    assert _objects(ceph_s3, bucket) == []
    assert _eventually(lambda: _unfinished_uploads(ceph_s3, bucket) == [])


def _send_part_of(api: httpx.Client, path: str, body: bytes, sent: int) -> socket.socket:
    """A raw connection that sends the request's head and the first `sent` bytes."""
    url = urlsplit(str(api.base_url))
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80))
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\n"
            f"Host: {url.netloc}\r\n"
            f"Authorization: Bearer {TOKEN}\r\n"
            "Content-Type: multipart/form-data; boundary=b0undary\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body[:sent]
    )
    return sock


@pytest.mark.parametrize("kind", ["new filing", "correction"])
def test_a_client_that_goes_away_mid_upload_leaves_nothing(
    s3_api: httpx.Client,
    ceph_s3: S3Server,
    bucket: str,
    report: Path,
    capfd: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    path, before = "/v1/filings", []
    if kind == "correction":
        filing = _post(s3_api, report, sample_metadata()).json()
        path, before = f"/v1/filings/{filing['id']}/versions", _objects(ceph_s3, bucket)
    corrected = report.read_bytes() + b"\0"  # other bytes, the same document
    sha256 = hashlib.sha256(corrected).hexdigest()
    reason = {"reason": "重新上传"} if kind == "correction" else {}
    body = _multipart(sample_metadata(file_sha256=sha256, **reason), corrected)

    # More than a part of the file: its upload has begun, under the version it will get.
    with _send_part_of(s3_api, path, body, 5 * MiB + MiB // 2):
        assert _eventually(lambda: _unfinished_uploads(ceph_s3, bucket) != [])
        [under_way] = _unfinished_uploads(ceph_s3, bucket)
        assert under_way.endswith(
            "/v2/data/报告.docx" if kind == "correction" else "/v1/data/报告.docx"
        )

    assert _eventually(lambda: _unfinished_uploads(ceph_s3, bucket) == [])
    assert _objects(ceph_s3, bucket) == before
    logged = capfd.readouterr().out
    assert "client_disconnected" in logged and "unhandled_error" not in logged


def test_with_the_file_part_first_a_declared_filing_is_archived_after_it_arrives(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path
) -> None:
    metadata = json.dumps(sample_metadata(file_sha256=_sha256(report)), ensure_ascii=False)
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="report.docx"\r\n\r\n'
        + report.read_bytes()
        + b"\r\n--b0undary\r\n"
        + b'Content-Disposition: form-data; name="metadata"\r\n\r\n'
        + metadata.encode()
        + b"\r\n--b0undary--\r\n"
    )

    response = s3_api.post(
        "/v1/filings",
        headers={**AUTH, "Content-Type": "multipart/form-data; boundary=b0undary"},
        content=body,
    )

    assert response.status_code == 201, response.text
    assert _unfinished_uploads(ceph_s3, bucket) == []


# -- retention: a livelihood item that records a major decision is kept permanently --


def _deliver(container: Container) -> None:
    """One worker pass with a portal that publishes everything: receipts get archived."""
    published = Delivered({"article_id": "art_1", "url": "https://portal/art_1.html"})
    run_worker_once(container, {"portal": ScriptedPortal([published])})


LIVELIHOOD_TEXT = "招生安排\n2024年春季学期义务教育阶段学校招生工作按照就近入学原则进行，报名时间为3月1日至3月10日。"


@pytest.mark.parametrize("major_decision", [True, False], ids=["major decision", "not major"])
def test_a_livelihood_item_is_locked_30_years_or_permanently_if_it_records_a_major_decision(
    s3_api: httpx.Client,
    container: Container,
    ceph_s3: S3Server,
    bucket: str,
    tmp_path: Path,
    major_decision: bool,
) -> None:
    item = write_padded_docx(tmp_path / "item.docx", LIVELIHOOD_TEXT, LARGE)
    metadata = sample_metadata(
        category="livelihood",
        period="2024-01-08",
        title="招生安排",
        livelihood={"field": "教育", "major_decision": major_decision},
    )

    response = _post(s3_api, item, metadata)
    _deliver(container)

    assert response.status_code == 201, response.text
    keys = _objects(ceph_s3, bucket)
    # payload, metadata.json, bagit.txt, bag-info.txt, manifest, tag manifest, receipt
    assert len(keys) == 7
    assert any("/receipts/portal-" in key for key in keys)
    for key in keys:
        head = ceph_s3.shared_client.head_object(Bucket=bucket, Key=key)
        years = head["ObjectLockRetainUntilDate"].year - datetime.now(UTC).year
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head.get("ObjectLockLegalHoldStatus") == ("ON" if major_decision else None), key
        assert years in ((70, 69) if major_decision else (30, 29)), key


# -- an outage of the store in the middle of an upload ----------------------------


def _paced(body: bytes, bytes_per_s: float) -> Iterator[bytes]:
    """The body as a slow network delivers it."""
    chunk = 256 * 1024
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]
        time.sleep(chunk / bytes_per_s)


def test_an_outage_mid_upload_answers_503_and_the_retry_with_the_same_key_succeeds(
    ceph_s3: S3Server, bucket: str, report: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ceph_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ceph_s3.secret_key)
    url = urlsplit(ceph_s3.endpoint_url)
    body = _multipart(sample_metadata(file_sha256=_sha256(report)), report.read_bytes())
    headers = {
        **AUTH,
        "Idempotency-Key": "outage-s3-0001",
        "Content-Type": "multipart/form-data; boundary=b0undary",
        "Content-Length": str(len(body)),
    }
    with tcp_proxy((url.hostname or "127.0.0.1", url.port or 80)) as proxy:
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path / "var",
                "orgs_file": write_registry(tmp_path),
                "demo_token": TOKEN,
                "archive_url": f"s3://{bucket}/archive",
                "s3_endpoint_url": proxy.url,
                "s3_max_attempts": 2,
            }
        )
        container = build_container(settings, clock=FakeClock())
        with (
            app_in_thread(create_app(container.api())) as base,
            httpx.Client(base_url=base, timeout=60) as api,
            ThreadPoolExecutor(1) as pool,
        ):
            answer = pool.submit(
                lambda: api.post("/v1/filings", headers=headers, content=_paced(body, 4e6))
            )
            assert _eventually(lambda: _unfinished_uploads(ceph_s3, bucket) != [])
            proxy.cut()  # the store goes away with the upload under way
            failed = answer.result()
            assert failed.status_code == 503, failed.text
            assert failed.json()["error"]["code"] == "archive_unavailable"
            assert _objects(ceph_s3, bucket) == []
            proxy.restore()

            retried = api.post("/v1/filings", headers=headers, content=body)

            assert retried.status_code == 201, retried.text
            filings = api.get("/v1/filings", headers=AUTH).json()["filings"]
            assert [f["id"] for f in filings] == [retried.json()["id"]]
        container.close()
    stored = _objects(ceph_s3, bucket)
    # the package's five objects, and the tag manifest that its timestamp stamps
    assert len(stored) == 5 + 1 and all(retried.json()["id"] in key for key in stored)
    # The failed attempt could not abort its upload while the store was away: invisible,
    # and what reconcile reports as an unfinished write (a lifecycle rule removes it).
    [left] = _unfinished_uploads(ceph_s3, bucket)
    assert retried.json()["id"] not in left
    later = datetime.now(UTC) + timedelta(hours=2)
    store = ceph_s3.store(bucket, "archive")
    assert [key for key, _ in store.unfinished(later)] == [left.removeprefix("archive/")]

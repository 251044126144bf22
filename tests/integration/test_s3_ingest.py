"""Submitting through the API onto Ceph RGW, in a bucket with versioning and Object Lock
(the production shape): a large payload goes up as a multipart upload while the filing
is validated and reserved, and it becomes visible only once the filing is accepted. A
refused, duplicate or failed submission leaves no object and no unfinished upload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.archive.packages import package_prefix
from service.bootstrap import Container
from tests.support.bodies import sample_metadata
from tests.support.documents import SAMPLE_PATH, write_padded_docx
from tests.support.s3 import S3Server

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


def test_a_large_correction_goes_up_in_parts_as_the_next_version(
    s3_api: httpx.Client, ceph_s3: S3Server, bucket: str, report: Path, tmp_path: Path
) -> None:
    filing = _post(s3_api, report, sample_metadata()).json()
    text = SAMPLE_PATH.read_text("utf-8") + "\n（更正：补充附件说明）"
    corrected = write_padded_docx(tmp_path / "corrected.docx", text, LARGE)

    response = _post(s3_api, corrected, sample_metadata(), f"/v1/filings/{filing['id']}/versions")

    assert response.status_code == 201, response.text
    versions = {v["version"]: v["status"] for v in response.json()["versions"]}
    assert versions == {1: "superseded", 2: "archived"}  # never delivered: no worker runs here
    head = ceph_s3.shared_client.head_object(Bucket=bucket, Key=_payload_key(response.json(), 2))
    assert head["ETag"].endswith('-2"')
    assert _unfinished_uploads(ceph_s3, bucket) == []

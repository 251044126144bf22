"""What compliance staff rely on, through the HTTP API: corrections, idempotent ingest,
downloading a bag that validates, fixity checks that catch tampering, and an archive
outage that leaves nothing half-visible."""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any

import bagit
import httpx
import pytest

from service.bootstrap import Container
from service.delivery.port import Delivered
from tests.fakes import ScriptedPortal
from tests.support.bodies import sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.worker import run_worker_once

TOKEN = "demo-archive-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def sample_docx() -> bytes:
    return docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": TOKEN}


def _post(
    api: httpx.Client,
    content: bytes,
    *,
    path: str = "/v1/filings",
    key: str | None = None,
    **meta: Any,
) -> httpx.Response:
    headers = {**AUTH, **({"Idempotency-Key": key} if key else {})}
    if path.endswith("/versions"):
        meta.setdefault("reason", "更正文字错误")
    return api.post(
        path,
        headers=headers,
        data={"metadata": json.dumps(sample_metadata(**meta), ensure_ascii=False)},
        files={"file": ("报告.docx", content)},
    )


def _corrected(sample_docx: bytes, mark: str) -> bytes:
    text = SAMPLE_PATH.read_text(encoding="utf-8").replace(
        "一是始终坚持夯实理论根基", f"一是始终坚持夯实理论根基（{mark}）"
    )
    return docx_from_text(text)


def _deliver(container: Container) -> None:
    portal = ScriptedPortal(
        [
            Delivered({"article_id": f"art_{i}", "url": f"https://portal/art_{i}.html"})
            for i in range(10)
        ]
    )
    run_worker_once(container, {"portal": portal}, concurrency=2)


def _archive_file(container: Container, filing: dict[str, Any], version: int = 1) -> Path:
    prefix = filing["versions"][version - 1]["package"]
    return container.settings.data_dir / "archive" / prefix / "data" / "报告.docx"


def test_a_correction_becomes_the_next_version_and_both_stay_archived(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    first = _post(api, sample_docx).json()
    second = _post(api, _corrected(sample_docx, "更正"), path=f"/v1/filings/{first['id']}/versions")
    assert second.status_code == 201, second.text
    filing = second.json()
    assert filing["version"] == 2
    assert [(v["version"], v["supersedes"]) for v in filing["versions"]] == [(1, None), (2, 1)]
    assert _archive_file(container, filing, 1).read_bytes() == sample_docx
    assert _archive_file(container, filing, 2).exists()
    assert [(d["version"], d["destination"], d["status"]) for d in filing["deliveries"]] == [
        (1, "legal_platform", "superseded"),
        (1, "portal", "superseded"),
        (2, "legal_platform", "pending"),
        (2, "portal", "pending"),
    ]


def test_concurrent_corrections_get_distinct_version_numbers(
    api: httpx.Client, sample_docx: bytes
) -> None:
    first = _post(api, sample_docx).json()
    statuses: list[int] = []

    def correct(i: int) -> None:
        statuses.append(
            _post(
                api, _corrected(sample_docx, f"更正{i}"), path=f"/v1/filings/{first['id']}/versions"
            ).status_code
        )

    threads = [threading.Thread(target=correct, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = [
        v["version"] for v in api.get(f"/v1/filings/{first['id']}", headers=AUTH).json()["versions"]
    ]
    assert versions == list(range(1, len(versions) + 1))
    assert set(statuses) <= {201, 409} and statuses.count(201) == len(versions) - 1


def test_a_correction_must_keep_the_body_kind_and_period(
    api: httpx.Client, sample_docx: bytes
) -> None:
    first = _post(api, sample_docx).json()
    response = _post(
        api, _corrected(sample_docx, "x"), path=f"/v1/filings/{first['id']}/versions", period="2022"
    )
    assert response.status_code == 422
    assert response.json()["error"]["findings"][0]["code"] == "correction_mismatch"


def test_the_same_idempotency_key_and_body_give_the_same_filing(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    first = _post(api, sample_docx, key="submit-0001")
    again = _post(api, sample_docx, key="submit-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    packages = list(container.packages.iter_packages())
    assert len(packages) == 1


def test_the_same_key_with_another_body_is_refused(api: httpx.Client, sample_docx: bytes) -> None:
    _post(api, sample_docx, key="submit-0002")
    response = _post(api, _corrected(sample_docx, "另"), key="submit-0002")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_reused"


def test_the_same_content_without_a_key_names_the_existing_filing(
    api: httpx.Client, sample_docx: bytes
) -> None:
    first = _post(api, sample_docx).json()
    response = _post(api, sample_docx)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "duplicate_filing" and error["filing_id"] == first["id"]
    assert first["id"] in error["message_zh"]


def test_the_downloaded_bag_validates_with_its_receipt_as_a_tag_file(
    api: httpx.Client, container: Container, sample_docx: bytes, tmp_path: Path
) -> None:
    filing = _post(api, sample_docx).json()
    _deliver(container)
    response = api.get(f"/v1/filings/{filing['id']}/package", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = tmp_path / "bag.zip"
    archive.write_bytes(response.content)
    with zipfile.ZipFile(archive) as z:
        z.extractall(tmp_path / "out")
        names = z.namelist()
    bag = bagit.Bag(str(tmp_path / "out" / f"{filing['id']}-v1"))
    bag.validate()
    assert any("/receipts/portal-" in n for n in names)
    assert any(n.endswith("tagmanifest-sha256.txt") for n in names)


def test_tampered_bytes_are_reported_by_verify_and_refused_on_download(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    filing = _post(api, sample_docx).json()
    assert api.post(f"/v1/filings/{filing['id']}/verify", headers=AUTH).json()["ok"] is True
    stored = _archive_file(container, filing)
    os.chmod(stored, 0o644)
    tampered = bytearray(sample_docx)
    tampered[len(tampered) // 2] ^= 0xFF
    stored.write_bytes(bytes(tampered))
    report = api.post(f"/v1/filings/{filing['id']}/verify", headers=AUTH).json()
    assert report["ok"] is False
    assert [m["path"] for m in report["versions"][0]["mismatched"]] == ["data/报告.docx"]
    download = api.get(f"/v1/filings/{filing['id']}/package", headers=AUTH)
    assert download.status_code == 500
    assert download.json()["error"]["code"] == "fixity_mismatch"
    version = container.catalog.get_version(filing["id"], 1)
    assert version is not None and version.last_verified_ok is False
    assert [
        e.action for e in container.catalog.audit_events() if e.action.startswith("fixity")
    ] == ["fixity.checked", "fixity.failed", "fixity.failed"]


def test_a_deleted_object_is_reported_by_verify(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    filing = _post(api, sample_docx).json()
    _archive_file(container, filing).unlink()
    report = api.post(f"/v1/filings/{filing['id']}/verify", headers=AUTH).json()
    assert report["versions"][0]["missing"] == ["data/报告.docx"]


def test_an_archive_outage_answers_503_and_the_retry_with_the_same_key_succeeds(
    api: httpx.Client, container: Container, sample_docx: bytes
) -> None:
    root = container.settings.data_dir / "archive"
    root.rename(root.with_name("archive-away"))
    failed = _post(api, sample_docx, key="outage-0001")
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "archive_unavailable"
    assert api.get("/v1/filings", headers=AUTH).json()["filings"] == []
    assert api.get("/readyz").status_code == 503
    root.with_name("archive-away").rename(root)
    retried = _post(api, sample_docx, key="outage-0001")
    assert retried.status_code == 201, retried.text
    assert [f["id"] for f in api.get("/v1/filings", headers=AUTH).json()["filings"]] == [
        retried.json()["id"]
    ]

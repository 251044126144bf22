"""Proof of publication through the HTTP API, against a TSA on 127.0.0.1: a filing's
timestamp shows pending, then stamped and verified; whoever may read the filing sees it,
another body gets 404; the zip download carries the tag manifest and its token; a
tag file changed behind the service's back fails `verify` with a clear finding."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import httpx
import pytest

from service.archive.packages.captures import CaptureFiles
from service.bootstrap import Container, build_stamper, timestamp_authority
from service.catalog.records import CaptureJob, CaptureResult
from service.usecases.stamping import stamp_due
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.tsa import RunningTsa, openssl_verify, running_tsa

OPERATOR, STRANGER, AUDITOR = "proof-op-token", "proof-stranger-token", "proof-auditor-token"


@pytest.fixture(scope="module")
def tsa() -> Iterator[RunningTsa]:
    with running_tsa() as running:
        yield running


@pytest.fixture
def service_settings(tsa: RunningTsa, tmp_path: Path) -> dict[str, Any]:
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes(tsa.authority.root_pem)
    return {
        "routes": {"rule_of_law_report": ["portal"]},
        "tsa_url": tsa.url,
        "tsa_roots_file": str(roots),
        "tokens": [
            {"name": "op", "token": OPERATOR, "role": "operator", "orgs": [NANKAI_OFFICE]},
            {"name": "stranger", "token": STRANGER, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": AUDITOR, "role": "compliance", "orgs": ["*"]},
        ],
    }


def _as(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _file(api: httpx.Client) -> str:
    answer = api.post(
        "/v1/filings", headers=_as(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(SAMPLE_PATH.read_text("utf-8")))},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _stamp(container: Container) -> None:
    with timestamp_authority(container.settings) as authority:
        s = container.settings
        stamper = build_stamper(
            s, container.catalog, container.store, authority, clock=container.clock, worker="t"
        )
        assert stamp_due(stamper).stamped == 1


def test_a_filing_s_timestamp_shows_pending_then_stamped_and_verified(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _file(api)
    before = api.get(f"/v1/filings/{filing_id}/proof", headers=_as(OPERATOR)).json()
    assert [(t["version"], t["status"], t["verified"]) for t in before["timestamps"]] == [
        (1, "pending", None)
    ]

    _stamp(container)

    proof = api.get(f"/v1/filings/{filing_id}/proof", headers=_as(AUDITOR))
    assert proof.status_code == 200
    [stamp] = proof.json()["timestamps"]
    assert (stamp["status"], stamp["verified"], stamp["problem"]) == ("stamped", True, None)
    assert stamp["gen_time"] and stamp["serial_number"]
    assert "CN=Disclosure TSA simulator" in stamp["tsa"]
    assert proof.json()["captures"] == []


def test_another_body_and_an_unknown_filing_get_404(api: httpx.Client) -> None:
    filing_id = _file(api)

    for path in (f"/v1/filings/{filing_id}/proof", "/v1/filings/fil_nosuchfiling/proof"):
        answer = api.get(path, headers=_as(STRANGER))
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "filing_not_found"


def test_the_zip_carries_the_tag_manifest_and_its_token_that_openssl_accepts(
    api: httpx.Client, container: Container, tsa: RunningTsa, tmp_path: Path
) -> None:
    filing_id = _file(api)
    _stamp(container)

    download = api.get(f"/v1/filings/{filing_id}/package", headers=_as(AUDITOR))
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "zip")
    [bag_dir] = (tmp_path / "zip").iterdir()
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert {"proof/tagmanifest-sha256.txt", "proof/tagmanifest-sha256.txt.tsr"} <= set(
        bag.tagfile_entries()
    )
    proof = bag_dir / "proof"
    manifest, token = (proof / n for n in ("tagmanifest-sha256.txt", "tagmanifest-sha256.txt.tsr"))
    assert "Verification: OK" in openssl_verify(
        manifest.read_bytes(), token.read_bytes(), tsa.authority, tmp_path / "openssl"
    )


def test_a_bag_info_changed_after_stamping_fails_verify_with_a_clear_finding(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _file(api)
    _stamp(container)
    prefix = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()["versions"][0][
        "package"
    ]
    bag_info = container.settings.data_dir / "archive" / prefix / "bag-info.txt"
    bag_info.write_bytes(bag_info.read_bytes().replace(b"Period: 2023", b"Period: 2022"))

    verified = api.post(f"/v1/filings/{filing_id}/verify", headers=_as(AUDITOR)).json()

    assert verified["ok"] is False
    [stamp] = verified["versions"][0]["timestamps"]
    assert stamp["verified"] is False
    assert stamp["changed"] == ["bag-info.txt"]
    assert stamp["problem"]["code"] == "timestamp_imprint_mismatch"
    assert stamp["problem"]["message_zh"] and stamp["problem"]["message_en"]


def test_a_capture_shows_in_the_proof_and_its_warc_in_the_zip(
    api: httpx.Client, container: Container, tmp_path: Path
) -> None:
    filing_id = _file(api)
    prefix = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()["versions"][0][
        "package"
    ]
    warc = CaptureFiles(container.store).put_warc(prefix, "portal", 0, b"WARC/1.1 bytes", None)
    now = container.clock()
    url = "http://127.0.0.1:9/fzzfjs/art_1.html"
    container.catalog.restore_capture(
        CaptureJob(filing_id, 1, "portal", "dlv_x", url),
        CaptureResult(
            "captured", captured_at=now, http_status=200, text_matches=False,
            attachments_match=True, warc_key=warc.key, warc_sha256=warc.sha256,
            last_checked_at=now, checks=1, verdict="drift", objects={warc.key: warc.sha256},
        ),
    )  # fmt: skip

    [capture] = api.get(f"/v1/filings/{filing_id}/proof", headers=_as(OPERATOR)).json()["captures"]

    assert (capture["url"], capture["verdict"], capture["text_matches"]) == (url, "drift", False)
    assert capture["warc_sha256"] == warc.sha256 and capture["captured_at"]
    assert capture["finding"]["code"] == "publication_drift" and capture["finding"]["message_zh"]
    download = api.get(f"/v1/filings/{filing_id}/package", headers=_as(AUDITOR))
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        archive.extractall(tmp_path / "zip")
    [bag_dir] = (tmp_path / "zip").iterdir()
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert "receipts/captures/portal-000.warc.gz" in set(bag.tagfile_entries())
    verified = api.post(f"/v1/filings/{filing_id}/verify", headers=_as(AUDITOR)).json()
    assert verified["ok"] is True


def _restore(container: Container, filing_id: str, url: str, verdict: str) -> None:
    now = container.clock()
    container.catalog.restore_capture(
        CaptureJob(filing_id, 1, "portal", "dlv_findings", url),
        CaptureResult(
            "captured", captured_at=now, http_status=200 if verdict != "link_rot" else 404,
            last_checked_at=now, checks=1, verdict=verdict,
        ),
    )  # fmt: skip


def _codes(findings: list[dict[str, Any]]) -> list[str]:
    return [f["code"] for f in findings]


def test_drift_and_link_rot_are_findings_on_the_filing_until_a_re_check_finds_the_page_right(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _file(api)
    url = "http://127.0.0.1:9/fzzfjs/art_2.html"
    clean = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()
    assert "publication_drift" not in _codes(clean["findings"])

    _restore(container, filing_id, url, "drift")
    filing = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()

    [drift] = [f for f in filing["findings"] if f["code"] == "publication_drift"]
    assert drift["severity"] == "error"
    assert drift["message_zh"] == "公开页面的正文或附件与报送内容不一致"
    assert "differs from the filing" in drift["message_en"]
    assert "portal" in drift["where"] and url in drift["where"]
    assert drift in filing["versions"][0]["findings"]  # the version's own, on its page
    listed = api.get("/v1/filings", headers=_as(AUDITOR)).json()["filings"]
    assert drift in next(f for f in listed if f["id"] == filing_id)["findings"]

    _restore(container, filing_id, url, "link_rot")
    rot = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()["findings"]
    assert "publication_link_rot" in _codes(rot) and "publication_drift" not in _codes(rot)
    corrected = api.post(
        f"/v1/filings/{filing_id}/versions", headers=_as(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(reason="更正错别字"), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(SAMPLE_PATH.read_text("utf-8") + "\n更正"))},
    )  # fmt: skip
    assert corrected.status_code == 201, corrected.text
    assert "publication_link_rot" in _codes(corrected.json()["findings"])  # v1's page
    assert "publication_link_rot" not in _codes(corrected.json()["versions"][1]["findings"])

    _restore(container, filing_id, url, "unchanged")  # the page was put right
    fixed = api.get(f"/v1/filings/{filing_id}", headers=_as(OPERATOR)).json()
    assert not {"publication_drift", "publication_link_rot"} & set(_codes(fixed["findings"]))


def _metric(api: httpx.Client, sample: str) -> float:
    """A sample's value on /metrics (no token), 0 when it was never counted."""
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_stamp_attempts_are_counted_by_outcome_on_metrics(
    api: httpx.Client, container: Container, tsa: RunningTsa
) -> None:
    retry = 'disclosure_timestamp_attempts_total{file="package",outcome="retry"}'
    stamped = 'disclosure_timestamp_attempts_total{file="package",outcome="stamped"}'
    before = (_metric(api, retry), _metric(api, stamped))
    _file(api)
    tsa.switch.down = True
    try:
        with timestamp_authority(container.settings) as authority:
            stamper = build_stamper(container.settings, container.catalog, container.store,
                                    authority, clock=container.clock, worker="t")  # fmt: skip
            assert stamp_due(stamper).retried == 1
    finally:
        tsa.switch.down = False
    assert (_metric(api, retry), _metric(api, stamped)) == (before[0] + 1, before[1])
    container.clock.advance(3600)  # type: ignore[attr-defined]

    _stamp(container)

    assert (_metric(api, retry), _metric(api, stamped)) == (before[0] + 1, before[1] + 1)

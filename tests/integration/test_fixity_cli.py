"""`disclosure verify` and `disclosure audit` on a real data directory."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from typer.testing import CliRunner

from service.bootstrap import build_container, build_stamper, timestamp_authority
from service.domain.access import Principal, Role
from service.domain.metadata import FilingMetadata
from service.entrypoints.cli import app
from service.settings import Settings
from service.uploads import spool
from service.usecases.ingest import Origin, submit_filing
from service.usecases.stamping import stamp_due
from tests.support.bodies import sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import docx_from_text, sample_report
from tests.support.logging_kept import logging_kept
from tests.support.servers import base_env, run_command

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


def _data_dir_with_filings(tmp_path: Path, count: int) -> tuple[dict[str, str], list[str]]:
    env = base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
    )
    container = build_container(
        Settings(data_dir=tmp_path / "var", orgs_file=tmp_path / "orgs.yaml"), clock=FakeClock()
    )
    ids = []
    for year in range(2023, 2023 - count, -1):  # one report a year
        upload = spool([docx_from_text(sample_report(year))], "report.docx", 10**7)
        metadata = FilingMetadata.model_validate(sample_metadata(period=str(year)))
        ids.append(submit_filing(container.ingest, OPERATOR, metadata, upload, Origin()).filing.id)
    container.close()
    return env, ids


def _tamper(tmp_path: Path) -> None:
    [stored] = (tmp_path / "var" / "archive").rglob("data/report.docx")
    os.chmod(stored, 0o644)
    stored.write_text("篡改", encoding="utf-8")


def test_verify_exits_0_on_an_intact_filing_and_1_on_a_tampered_one(tmp_path: Path) -> None:
    env, [filing_id] = _data_dir_with_filings(tmp_path, 1)
    intact = run_command(["verify", filing_id], env)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "完好" in intact.stdout
    _tamper(tmp_path)
    damaged = run_command(["verify", filing_id], env)
    assert damaged.returncode == 1
    assert "受损" in damaged.stdout and "data/report.docx" in damaged.stdout


def test_audit_walks_every_version_and_writes_a_report(tmp_path: Path) -> None:
    env, ids = _data_dir_with_filings(tmp_path, 3)
    result = run_command(["audit", "--all"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    [report] = (tmp_path / "var" / "audit").glob("audit-*.jsonl")
    lines = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["filing_id"] for r in lines) == sorted(ids)
    assert all(r["ok"] for r in lines)


def test_a_resumed_audit_skips_what_the_interrupted_run_checked(tmp_path: Path) -> None:
    env, _ = _data_dir_with_filings(tmp_path, 3)
    first = run_command(["audit", "--all"], env)
    assert first.returncode == 0
    resumed = run_command(["audit", "--all", "--resume"], env)
    assert resumed.returncode == 0
    assert "已校验 0 个版本" in resumed.stdout


def test_a_sampled_audit_reports_damage(tmp_path: Path) -> None:
    env, _ = _data_dir_with_filings(tmp_path, 1)
    _tamper(tmp_path)
    result = run_command(["audit", "--sample", "5"], env)
    assert result.returncode == 1
    assert "受损 1 个" in result.stdout


def test_audit_needs_exactly_one_of_sample_or_all(tmp_path: Path) -> None:
    env, _ = _data_dir_with_filings(tmp_path, 1)
    assert run_command(["audit"], env).returncode == 2


def test_backfill_then_a_stamp_by_the_development_tsa_and_verify_checks_the_token(
    tmp_path: Path,
) -> None:
    env, [filing_id] = _data_dir_with_filings(tmp_path, 1)
    env = {**env, "DISCLOSURE_LOG_FORMAT": "json", "COLUMNS": "200"}
    [tag_manifest] = (tmp_path / "var" / "archive").rglob("tagmanifest-sha256.txt")
    os.chmod(tag_manifest, 0o644)
    tag_manifest.unlink()  # as a package archived before timestamps has none
    runner = CliRunner()  # in process: a command's start-up is seconds on a busy machine

    with logging_kept():
        backfilled = runner.invoke(app, ["proof", "backfill", "--json"], env=env)
    assert backfilled.exit_code == 0, backfilled.output
    assert json.loads(backfilled.stdout)["tag_manifests_written"] == 1 and tag_manifest.exists()
    settings = Settings(data_dir=tmp_path / "var", orgs_file=tmp_path / "orgs.yaml")
    container = build_container(settings)
    with timestamp_authority(settings) as tsa:  # no DISCLOSURE_TSA_URL: the simulator
        stamper = build_stamper(
            settings, container.catalog, container.store, tsa, clock=container.clock, worker="t"
        )
        assert stamp_due(stamper).stamped == 1  # what each tick does
    container.close()

    with logging_kept():
        verified = runner.invoke(app, ["verify", filing_id], env=env)
    assert verified.exit_code == 0, verified.output
    assert "可信时间戳timestamp:stamped" in _cells(verified.stdout)
    assert tag_manifest.with_name("tagmanifest-sha256.txt.tsr").exists()


def test_verify_checks_a_capture_s_warc(tmp_path: Path) -> None:
    from service.archive.packages.captures import CaptureFiles
    from service.catalog.records import CaptureJob, CaptureResult

    env, [filing_id] = _data_dir_with_filings(tmp_path, 1)
    container = build_container(
        Settings(data_dir=tmp_path / "var", orgs_file=tmp_path / "orgs.yaml"), clock=FakeClock()
    )
    version = container.catalog.get_version(filing_id, 1)
    assert version is not None
    warc = CaptureFiles(container.store).put_warc(
        version.package_prefix, "portal", 0, b"WARC/1.1 as captured", None
    )
    container.catalog.restore_capture(
        CaptureJob(filing_id, 1, "portal", "dlv_1", "http://127.0.0.1:9/a.html"),
        CaptureResult("captured", warc_key=warc.key, warc_sha256=warc.sha256, verdict="unchanged",
                      objects={warc.key: warc.sha256}),
    )  # fmt: skip
    container.close()
    assert run_command(["verify", filing_id], env).returncode == 0
    [stored] = (tmp_path / "var" / "archive").rglob("portal-000.warc.gz")
    os.chmod(stored, 0o644)
    stored.write_bytes(b"WARC/1.1 changed")

    damaged = run_command(["verify", filing_id], env)

    assert damaged.returncode == 1
    assert "receipts/captures/portal-000.warc.gz" in damaged.stdout


def _cells(table: str) -> str:
    """A rich table's text without its borders and spacing, however narrow the console
    it was drawn for wrapped the cells."""
    return re.sub(r"[\s\u2500-\u257f]", "", table)

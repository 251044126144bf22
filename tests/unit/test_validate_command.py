"""`disclosure validate --metadata FILE.json` for every category, and `disclosure schemas
export`, through the command's own runner (no process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from service.entrypoints.cli import app
from tests.support.bodies import sample_metadata
from tests.support.documents import (
    SAMPLE_PATH,
    annual_report_docx,
    annual_report_tables,
    docx_from_text,
)
from tests.support.logging_kept import logging_kept

RUNNER = CliRunner()
ENV = {"DISCLOSURE_LOG_FORMAT": "json", "COLUMNS": "200"}


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The command configures logging onto the runner's streams, which close after each
    run: put back what the rest of the session logs through."""
    with logging_kept():
        yield


def _run(*args: str) -> Any:
    return RUNNER.invoke(app, list(args), env=ENV)


def _write(tmp_path: Path, name: str, content: bytes | dict[str, Any]) -> Path:
    path = tmp_path / name
    if isinstance(content, dict):
        path.write_text(json.dumps(content, ensure_ascii=False), "utf-8")
    else:
        path.write_bytes(content)
    return path


CASES = [
    ("rule_of_law_report", sample_metadata(), docx_from_text(SAMPLE_PATH.read_text("utf-8")), "report.docx", "2024-01-12", 0, set()),
    ("rule_of_law_report-as-text", sample_metadata(), SAMPLE_PATH.read_bytes(), "report.txt", "2024-01-12", 1, {"destination_file_type"}),
    ("gov_info_annual_report", sample_metadata(category="gov_info_annual_report", annual_report=annual_report_tables()), annual_report_docx(), "年报.docx", "2024-01-20", 0, set()),
    ("leadership", sample_metadata(category="leadership", period="2024-01-05", leadership={"leaders": [{"name": "张伟", "post": "主任"}]}), "主任：张伟".encode(), "a.txt", "2024-01-12", 1, {"leadership_field_missing"}),
    ("organization", sample_metadata(category="organization", period="2024-01-05"), "职能：对口支援。内设机构：办公室。地址：红旗路1号。办公时间：工作日。电话：022-27350000".encode(), "a.txt", "2024-01-12", 0, set()),
    ("budget_final_accounts", sample_metadata(category="budget_final_accounts"), "2023年度部门决算\n基本支出、项目支出、机关运行经费".encode(), "a.txt", "2024-08-20", 1, {"budget_approval_missing"}),
    ("livelihood", sample_metadata(category="livelihood", period="2024-01-05", livelihood={"field": "教育"}), "招生安排\n2024年春季学期义务教育阶段学校招生工作按照就近入学原则进行。".encode(), "a.txt", "2024-01-12", 0, set()),
    ("without-review", {k: v for k, v in sample_metadata().items() if k != "review"}, docx_from_text(SAMPLE_PATH.read_text("utf-8")), "report.docx", "2024-01-12", 1, {"review_missing"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("metadata", "content", "name", "received_on", "exit_code", "errors"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_validate_with_a_metadata_file_for_every_category(
    tmp_path: Path,
    metadata: dict[str, Any],
    content: bytes,
    name: str,
    received_on: str,
    exit_code: int,
    errors: set[str],
) -> None:
    meta = _write(tmp_path, "metadata.json", metadata)
    file = _write(tmp_path, name, content)
    result = _run(
        "validate", str(file), "--metadata", str(meta), "--received-on", received_on, "--json"
    )
    assert result.exit_code == exit_code, result.output
    body = json.loads(result.stdout)
    assert {f["code"] for f in body["findings"] if f["severity"] == "error"} == errors


def test_a_waiver_in_the_metadata_is_not_honoured_by_validate(tmp_path: Path) -> None:
    metadata = sample_metadata(
        category="budget_final_accounts",
        waivers=[{"code": "budget_approval_missing", "reason": "批复未下达"}],
    )
    meta = _write(tmp_path, "metadata.json", metadata)
    file = _write(tmp_path, "a.txt", "2023年度部门决算\n基本支出、项目支出、机关运行经费".encode())
    result = _run(
        "validate", str(file), "--metadata", str(meta), "--received-on", "2024-08-20", "--json"
    )
    assert result.exit_code == 1
    codes = {f["code"] for f in json.loads(result.stdout)["findings"]}
    assert {"budget_approval_missing", "waiver_not_permitted"} <= codes


def test_schemas_export_writes_what_check_then_accepts(tmp_path: Path) -> None:
    schemas, table = tmp_path / "schemas", tmp_path / "docs" / "findings.md"
    assert (
        _run("schemas", "export", "--dir", str(schemas), "--findings-table", str(table)).exit_code
        == 0
    )
    assert len(list(schemas.glob("*.schema.json"))) == 9 and table.is_file()
    check = ("schemas", "export", "--dir", str(schemas), "--findings-table", str(table), "--check")
    assert _run(*check).exit_code == 0
    (schemas / "finding.schema.json").write_text("{}", "utf-8")
    assert _run(*check).exit_code == 1


def test_the_committed_schemas_pass_the_check() -> None:
    root = Path(__file__).resolve().parents[2]
    result = _run("schemas", "export", "--dir", str(root / "schemas"), "--findings-table", str(root / "docs" / "findings.md"), "--check")  # fmt: skip
    assert result.exit_code == 0, result.output

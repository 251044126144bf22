"""One answer everywhere: `disclosure validate` gives the same findings as the server's
POST /v1/validations for the same file and metadata — destinations' file types, PDF
tables and unreadable files included — with the server reading PDFs in its pool of
worker processes and the command reading them in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from service.bootstrap import build_container
from service.entrypoints.api.app import create_app
from service.entrypoints.cli import app as cli
from service.settings import Settings
from tests.support import hostile
from tests.support.annual_report_pdf import annual_report_pdf
from tests.support.bodies import sample_metadata, write_registry
from tests.support.documents import SAMPLE_PATH, annual_report_tables, docx_from_text
from tests.support.servers import app_in_thread
from tests.unit.test_annual_report_tables import _set, _tables
from tests.unit.test_validate_command import _logging_restored  # noqa: F401

TOKEN = "demo-one-answer-token"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "DISCLOSURE_DATA_DIR": str(tmp_path / "var"),
        "DISCLOSURE_ORGS_FILE": str(write_registry(tmp_path)),
        "DISCLOSURE_DEMO_TOKEN": TOKEN,
        "DISCLOSURE_LOG_FORMAT": "json",
    }


@pytest.fixture
def api(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    container = build_container(Settings())
    try:
        with (
            app_in_thread(create_app(container.api())) as url,
            httpx.Client(
                base_url=url, timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as client,
        ):
            yield client
    finally:
        container.close()


CASES = [
    ("rule-of-law-report-as-text", sample_metadata(), SAMPLE_PATH.read_bytes(), "report.txt"),
    ("rule-of-law-report-as-docx", sample_metadata(), docx_from_text(SAMPLE_PATH.read_text("utf-8")), "report.docx"),
    ("annual-report-pdf-breaking-an-identity", sample_metadata(category="gov_info_annual_report"), annual_report_pdf(tables=_tables(_set("table3.partially_disclosed.total", 2)), units=True), "年报.pdf"),
    ("annual-report-pdf-agreeing-with-its-json", sample_metadata(category="gov_info_annual_report", annual_report=annual_report_tables()), annual_report_pdf(), "年报.pdf"),
    ("png-named-pdf", sample_metadata(), hostile.png_named_like_pdf(), "report.pdf"),
    ("encrypted-pdf", sample_metadata(), hostile.pdf_encrypted(), "report.pdf"),
    ("docx-of-empty-paragraphs", sample_metadata(), hostile.docx_empty_paragraphs(), "report.docx"),
]  # fmt: skip


def _today() -> str:
    """The day the server receives on (Asia/Shanghai), for the command."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _findings(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return sorted((f["code"], f["severity"], f["where"]) for f in body["findings"])


@pytest.mark.parametrize(
    ("metadata", "content", "name"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_command_and_the_server_give_the_same_findings(
    api: httpx.Client,
    env: dict[str, str],
    tmp_path: Path,
    metadata: dict[str, Any],
    content: bytes,
    name: str,
) -> None:
    metadata = {**metadata, "file_sha256": None}
    metadata = {k: v for k, v in metadata.items() if v is not None}
    served = api.post(
        "/v1/validations",
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": (name, content)},
    )
    assert served.status_code == 200, served.text
    (tmp_path / name).write_bytes(content)
    (tmp_path / "metadata.json").write_text(json.dumps(metadata, ensure_ascii=False), "utf-8")
    command = CliRunner().invoke(
        cli,
        ["validate", str(tmp_path / name), "--metadata", str(tmp_path / "metadata.json"),
         "--received-on", _today(), "--json"],
        env={**env, "COLUMNS": "200"},
    )  # fmt: skip
    assert command.exit_code == (0 if served.json()["valid"] else 1), command.output
    assert _findings(json.loads(command.stdout)) == _findings(served.json())

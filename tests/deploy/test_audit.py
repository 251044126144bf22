"""`make audit` (deploy/audit.py) reads pip-audit's report so that an audit that could not
be made is never shown as a clean one. pip-audit itself needs the network; its report is
given here as it writes it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "audit", Path(__file__).resolve().parents[2] / "deploy" / "audit.py"
)
assert SPEC is not None and SPEC.loader is not None
audit = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(audit)

SKIPPED = {"name": "fastapi", "skip_reason": "Dependency not found on PyPI"}
CLEAN = {"name": "httpx", "version": "0.29.0", "vulns": []}
VULNERABLE = {
    "name": "h11",
    "version": "0.14.0",
    "vulns": [
        {"id": "GHSA-vqfr-h8mv-ghfj", "aliases": ["CVE-2025-43859"], "fix_versions": ["0.16.0"]}
    ],
}


def test_a_report_of_nothing_but_skips_says_not_audited_and_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert audit.summary([SKIPPED, SKIPPED]) == 0
    assert "NOT AUDITED" in capsys.readouterr().out


def test_a_known_vulnerability_is_listed_with_its_fix_and_fails(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert audit.summary([CLEAN, VULNERABLE, SKIPPED]) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE h11 0.14.0: GHSA-vqfr-h8mv-ghfj (CVE-2025-43859); fixed in 0.16.0" in out
    assert "not audited: fastapi" in out
    assert "2 packages audited, 1 with known vulnerabilities" in out


def test_no_vulnerability_in_what_was_audited_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit.summary([CLEAN]) == 0
    assert "1 packages audited, 0 with known vulnerabilities" in capsys.readouterr().out

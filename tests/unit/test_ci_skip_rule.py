"""In CI a skipped test fails the run; elsewhere it may skip with its reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def _run_skipping_suite(tmp_path: Path, ci: str | None) -> int:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_probe.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    assert True\n\n"
        "def test_needs_a_server():\n    pytest.skip('server cannot be installed here')\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.returncode


@pytest.mark.parametrize(("ci", "code"), [("true", 1), (None, 0)], ids=["in CI", "outside CI"])
def test_a_skip_fails_the_run_only_in_ci(tmp_path: Path, ci: str | None, code: int) -> None:
    assert _run_skipping_suite(tmp_path, ci) == code

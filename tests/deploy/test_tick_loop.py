"""`disclosure tick --every N`, the compose stack's tick service: it ticks at once and
again every N seconds, and SIGTERM (`docker compose stop`) ends it cleanly, exit 0, well
within the stop grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DISCLOSURE = str(Path(sys.executable).with_name("disclosure"))


def _environment(tmp_path: Path) -> dict[str, str]:
    """The developer's own DISCLOSURE_* settings stay out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSURE_")}
    return env | {
        "DISCLOSURE_DATA_DIR": str(tmp_path / "var"),
        "DISCLOSURE_ORGS_FILE": str(ROOT / "examples" / "orgs.yaml"),
        "DISCLOSURE_LOG_FORMAT": "json",
    }


def _wait_for_ticks(log: Path, ticks: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while log.read_text(encoding="utf-8").count('"event": "tick"') < ticks:
        assert process.poll() is None, log.read_text(encoding="utf-8")
        assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
        time.sleep(0.05)


def test_tick_every_repeats_until_sigterm_and_then_exits_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "tick.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [DISCLOSURE, "tick", "--every", "1"],
            cwd=tmp_path,
            env=_environment(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_ticks(log, 2, process)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
        finally:
            process.kill()
            process.wait()

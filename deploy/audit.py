"""`make audit`: the packages the image ships (requirements.lock) against the known
vulnerabilities, with pip-audit. A report for people, never part of `make test`:

    exit 1   a locked package has a known vulnerability (each listed, with its fix)
    exit 0   none found, or the audit could not be made: then it says NOT AUDITED and
             why (no network, or the service knows none of the packages), never "no
             vulnerabilities" as if it had looked.

    python deploy/audit.py [--service pypi|osv]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def pip_audit(service: str, report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "pip_audit", "--requirement", str(LOCK)),
            *("--require-hashes", "--disable-pip", "--progress-spinner", "off"),
            *("--vulnerability-service", service, "--format", "json", "--output", str(report)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def not_audited(why: str) -> int:
    print(f"make audit: NOT AUDITED ({LOCK.name}): {why}")
    return 0


def summary(dependencies: list[dict[str, Any]]) -> int:
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if len(skipped) == len(dependencies):
        return not_audited(f"the service answered for none of them ({skipped[0]['skip_reason']})")
    for d in skipped:
        print(f"  not audited: {d['name']} {d.get('version', '')}: {d['skip_reason']}")
    for d in vulnerable:
        for vuln in d["vulns"]:
            fix = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
            aliases = ", ".join(vuln.get("aliases", []))
            print(
                f"  VULNERABLE {d['name']} {d['version']}: {vuln['id']} ({aliases}); fixed in {fix}"
            )
    audited = len(dependencies) - len(skipped)
    print(f"make audit: {audited} packages audited, {len(vulnerable)} with known vulnerabilities")
    return 1 if vulnerable else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    service = parser.parse_args().service
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        run = pip_audit(service, report)
        text = report.read_text(encoding="utf-8") if report.exists() else ""
    if not text.strip():
        last = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        return not_audited(
            f"pip-audit could not reach its vulnerability service ({service}): {last}"
        )
    return summary(json.loads(text)["dependencies"])


if __name__ == "__main__":
    sys.exit(main())

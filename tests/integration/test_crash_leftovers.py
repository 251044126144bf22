"""What a crash leaves behind is no answer to anyone and no weight on the disk (issue 11):
a filing whose version was reserved but never archived was never acknowledged, so the
API knows no such filing; the uploads a killed process had spooled are cleared by the
next process to start (or by `disclosure reconcile`), and a live process's never are."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container, build_container
from service.catalog.records import NewVersion
from service.domain.metadata import FilingMetadata
from service.settings import Settings
from service.spools import SpoolArea, Swept, sweep
from tests.support.bodies import sample_metadata, write_registry

DEMO = "demo-token-crash-leftovers"


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": DEMO}


def _reserved_then_crashed(container: Container) -> str:
    """What a process killed between the reservation and the archive write leaves."""
    metadata = FilingMetadata.model_validate(sample_metadata())

    def version(filing_id: str, number: int) -> NewVersion:
        return NewVersion(
            filename="report.docx",
            kind="docx",
            media_type="application/octet-stream",
            size=1,
            sha256="0" * 64,
            title=None,
            package_prefix=f"filings/{metadata.org_code}/x/2023/{filing_id}/v{number}/",
            metadata=metadata.model_dump(mode="json"),
            findings=[],
            publish_at=None,
        )

    filing_id, _ = container.catalog.reserve_version(
        filing_id=None,
        org_code=metadata.org_code,
        org_name=metadata.org_name,
        category=metadata.category.value,
        period=metadata.period,
        actor="demo-operator",
        make_version=version,
    )
    return filing_id


def test_a_filing_never_acknowledged_is_no_filing_to_the_api(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _reserved_then_crashed(container)
    auth = {"Authorization": f"Bearer {DEMO}"}

    found = api.get(f"/v1/filings/{filing_id}", headers=auth)
    listed = api.get("/v1/filings", headers=auth)

    assert found.status_code == 404 and found.json()["error"]["code"] == "filing_not_found"
    assert filing_id not in [f["id"] for f in listed.json()["filings"]]


# -- spooled uploads --------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from service.spools import SpoolArea
area = SpoolArea.claim(Path(sys.argv[1]))
(area.path / "upload-abc").write_bytes(b"x" * 1000)
print(area.path, flush=True)
time.sleep(60)
"""


def _holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    """A process that spools an upload and then sits, as one mid-request would."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    return process, Path(process.stdout.readline().strip())


def test_what_a_killed_process_spooled_is_cleared_and_a_live_ones_is_not(tmp_path: Path) -> None:
    root = tmp_path / "spools"
    killed, killed_area = _holder(root)
    living, living_area = _holder(root)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        mine = SpoolArea.claim(root)

        swept = sweep(root)

        assert swept == Swept(directories=1, files=1, bytes=1000)
        assert not killed_area.exists()
        assert (living_area / "upload-abc").exists() and mine.path.is_dir()
    finally:
        living.kill()
        living.wait(10)
    mine.release()
    assert sweep(root) == Swept(directories=1, files=1, bytes=1000)  # the living one, dead now
    assert list(root.iterdir()) == []


def test_the_api_clears_dead_processes_uploads_when_it_starts(tmp_path: Path) -> None:
    root = tmp_path / "spools"
    killed, killed_area = _holder(root)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=write_registry(tmp_path), spool_dir=root
    )
    container = build_container(settings)
    try:
        services = container.api()
        assert not killed_area.exists()
        assert services.spool_dir is not None and services.spool_dir.parent == root
    finally:
        container.close()
    assert list(root.iterdir()) == []  # a clean stop leaves nothing either

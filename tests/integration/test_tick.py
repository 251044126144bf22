"""One tick: re-drives due deliveries, follows reviews, samples fixity, exports the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.bootstrap import Container, build_container, build_worker, tick_jobs
from service.delivery.legal_platform import LegalPlatformAdapter, LegalPlatformConfig
from service.delivery.port import Delivered, DestinationAdapter
from service.domain.access import Principal, Role
from service.domain.metadata import FilingMetadata
from service.settings import Settings
from service.simulators.legal_platform import SimulatorConfig, start_in_thread
from service.uploads import spool
from service.usecases.ingest import Origin, submit_filing
from service.usecases.tick import run_tick
from tests.fakes import ScriptedPortal
from tests.support.bodies import sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def container(tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=write_registry(tmp_path), fixity_sample_per_tick=3
    )
    container = build_container(settings, clock=clock)
    yield container
    container.close()


@pytest.fixture
def adapters() -> Iterator[dict[str, DestinationAdapter]]:
    config = SimulatorConfig(review_after_s=0.0, review_decision="ACCEPTED")
    with start_in_thread("127.0.0.1", 0, config) as legal:
        yield {
            "portal": ScriptedPortal(
                [Delivered({"article_id": "art_1", "url": "https://p/art_1.html"})]
            ),
            "legal_platform": LegalPlatformAdapter(
                LegalPlatformConfig(
                    base_url=legal.url, app_key="legal-demo", app_secret="legal-demo-secret"
                )
            ),
        }


def test_a_tick_delivers_follows_the_review_checks_fixity_and_exports_the_audit_log(
    container: Container, adapters: dict[str, DestinationAdapter], clock: FakeClock
) -> None:
    upload = spool([docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))], "report.docx", 10**8)
    filing_id = submit_filing(
        container.ingest,
        OPERATOR,
        FilingMetadata.model_validate(sample_metadata()),
        upload,
        Origin(),
    ).filing.id
    clock.advance(2 * 86400)

    report = run_tick(tick_jobs(container, adapters, build_worker(container, adapters)))

    assert report.attempts == 2
    assert report.reviews.accepted == 1
    assert report.fixity_checked == 1 and report.fixity_damaged == 0
    assert report.audit_days_exported >= 1
    filing = container.catalog.get_filing(filing_id)
    assert filing is not None
    [legal] = [d for d in filing.deliveries if d.destination == "legal_platform"]
    assert legal.review_status == "ACCEPTED"
    assert list(container.store.list("audit/"))
    assert (
        run_tick(
            tick_jobs(container, adapters, build_worker(container, adapters))
        ).audit_days_exported
        == 0
    )

"""The composition root's captures: in development, with the portal simulator the
service starts itself, a tick delivers a filing and then captures its page — only the
configured destinations' hosts are fetched — and the proof shows it. When the portal
is gone (its server stopped: nothing listens on its port), the next re-check is link rot
of kind connection failure, in /proof and on the filing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from service import metrics
from service.bootstrap import (
    build_adapters,
    build_container,
    build_worker,
    destinations,
    proof_setup,
    tick_jobs,
)
from service.captures import capture_hosts
from service.domain.access import Principal, Role
from service.domain.metadata import FilingMetadata
from service.entrypoints.api.app import create_app
from service.settings import Settings
from service.uploads import spool
from service.usecases.ingest import Origin, submit_filing
from service.usecases.proof import proof_view
from service.usecases.tick import run_tick
from tests.support.bodies import sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import app_in_thread

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
SAMPLES = [
    ("disclosure_capture_attempts_total", {"destination": "portal", "outcome": "checked"}),
    ("disclosure_capture_verdicts_total", {"destination": "portal", "verdict": "link_rot"}),
]


def test_a_tick_captures_the_page_the_portal_simulator_published(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=write_registry(tmp_path),
        routes={"rule_of_law_report": ["portal"]},  # type: ignore[dict-item,list-item]
    )  # fmt: skip
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    try:
        upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
        metadata = FilingMetadata.model_validate(sample_metadata())
        filing_id = submit_filing(container.ingest, OPERATOR, metadata, upload, Origin()).filing.id
        with destinations(settings) as found:
            adapters = build_adapters(container, found.urls)
            hosts = capture_hosts(settings, found.urls)
            jobs = tick_jobs(container, adapters, build_worker(container, adapters), None, hosts)
            first = run_tick(jobs)  # delivers, then captures what it delivered
            second = run_tick(jobs)  # the re-check is not due yet

        assert first.attempts == 1 and first.captures.captured == 1  # in the same tick
        assert second.captures.captured == 0
        setup = proof_setup(settings, container.store)
        [capture] = proof_view(setup, [], container.catalog.captures(filing_id))["captures"]
        assert capture["verdict"] == "unchanged" and capture["text_matches"] is True
        assert capture["attachments_match"] is True and capture["warc_sha256"]
    finally:
        container.close()


def test_a_re_check_of_a_portal_that_refuses_connections_is_link_rot_of_kind_connection_failure(
    tmp_path: Path,
) -> None:
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=write_registry(tmp_path),
        routes={"rule_of_law_report": ["portal"]},  # type: ignore[dict-item,list-item]
        tokens=[{"name": "op", "token": "rot-op-token", "role": "operator", "orgs": ["*"]}],
    )  # fmt: skip
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    try:
        upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
        metadata = FilingMetadata.model_validate(sample_metadata())
        filing_id = submit_filing(container.ingest, OPERATOR, metadata, upload, Origin()).filing.id
        with destinations(settings) as found:
            adapters = build_adapters(container, found.urls)
            hosts = capture_hosts(settings, found.urls)
            jobs = tick_jobs(container, adapters, build_worker(container, adapters), None, hosts)
            assert run_tick(jobs).captures.captured == 1
        # The portal's server has stopped: its port on 127.0.0.1 refuses connections.
        clock.advance(timedelta(days=1, minutes=1).total_seconds())
        counted = {name: metrics.REGISTRY.get_sample_value(name, labels) or 0.0
                   for name, labels in SAMPLES}  # fmt: skip

        rechecked = run_tick(jobs).captures

        assert (rechecked.checked, rechecked.link_rot, rechecked.retried) == (1, 1, 0)
        with (
            app_in_thread(create_app(container.api())) as url,
            httpx.Client(base_url=url, headers={"Authorization": "Bearer rot-op-token"}) as api,
        ):
            [capture] = api.get(f"/v1/filings/{filing_id}/proof").json()["captures"]
            filing = api.get(f"/v1/filings/{filing_id}").json()
            exposed = api.get("/metrics").text
        for name, labels in SAMPLES:  # each counted once more, as /metrics shows
            shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
            assert f"{name}{{{shown}}} {counted[name] + 1}" in exposed
        assert (capture["verdict"], capture["rot_kind"]) == ("link_rot", "connection_failure")
        assert capture["http_status"] is None and capture["text_matches"] is None
        assert capture["last_checked_at"] == clock().isoformat() and capture["checks"] == 1
        assert capture["finding"]["message_zh"] == "公开页面已无法访问（链接失效）：无法连接"
        assert capture["finding"]["message_en"].endswith("(link rot): connection failure")
        [rot] = [f for f in filing["findings"] if f["code"] == "publication_link_rot"]
        assert capture["url"] in rot["where"] and "无法连接" in rot["message_zh"]
    finally:
        container.close()

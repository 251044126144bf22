"""The composition root's part for captures of published pages (service.bootstrap
imports it): which hosts may be fetched, the fetcher adapter, and the capturer the tick
runs.

    hosts = capture_hosts(settings, found.urls)   # the destinations' hosts + capture_hosts
    capturer = capturer_of(container, hosts, "w1")  # None: off, or no host to fetch
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from service.archive.packages import Packages
from service.archive.packages.captures import CaptureFiles
from service.archive.port import ArchiveStore
from service.capture.fetcher import FetchConfig, HttpFetcher, host_of
from service.delivery.policy import RetryPolicy
from service.domain.filing import Destination
from service.domain.notifications import Recipients
from service.reading.port import DocumentReader
from service.settings import Settings
from service.usecases.capturing import CaptureCatalog, Capturer, CaptureSettings

if TYPE_CHECKING:  # the composition root imports this module
    from service.bootstrap import Container


def capture_hosts(settings: Settings, urls: Mapping[Destination, str | None]) -> frozenset[str]:
    """The hosts a capture may fetch: those of the configured destinations (and of their
    simulators), and `capture_hosts` (a portal whose pages live on another host)."""
    found = {host_of(url) for url in urls.values() if url}
    return frozenset(found | {h.lower() for h in settings.capture_hosts})


def capturer_of(container: Container, hosts: Collection[str], worker: str) -> Capturer | None:
    """The tick's capturer from the container (None: captures off, or no host)."""
    return build_capturer(
        container.settings, container.catalog, container.packages, container.store,
        container.ingest.checks.reader, hosts, clock=container.clock, worker=worker,
        recipients=container.recipients(),
    )  # fmt: skip


def build_capturer(
    settings: Settings, catalog: CaptureCatalog, packages: Packages, store: ArchiveStore,
    reader: DocumentReader, hosts: Collection[str], *, clock: Callable[[], datetime],
    worker: str, recipients: Recipients,
) -> Capturer | None:  # fmt: skip
    """None when captures are off, or no host may be fetched."""
    if not settings.capture_enabled or not hosts:
        return None
    fetcher = HttpFetcher(
        FetchConfig(frozenset(hosts), settings.capture_max_bytes, settings.capture_timeout_s),
        clock=clock,
    )
    return Capturer(
        catalog=catalog, packages=packages, files=CaptureFiles(store), fetcher=fetcher,
        reader=reader,
        policy=RetryPolicy.of_seconds(settings.retry_schedule_s, settings.give_up_after_s),
        lease=timedelta(seconds=settings.lease_s), clock=clock, worker=worker,
        settings=CaptureSettings(
            grace=timedelta(seconds=settings.capture_grace_s),
            retry_every=timedelta(seconds=settings.capture_retry_s),
            schedule_days=tuple(settings.capture_schedule_days),
            monthly_days=settings.capture_monthly_days,
            max_redirects=settings.capture_max_redirects,
            max_attachments=settings.capture_max_attachments,
        ),
        recipients=recipients,
    )  # fmt: skip

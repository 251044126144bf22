"""The composition root: the one place that builds the service's parts from settings
and the only module that imports concrete adapters (an import-linter contract).

    container = build_container(settings)      # catalog, archive, registry, ingest …
    create_app(container.api(), container.pages())   # the API and pages get only what they use
    build_worker(container, adapters)          # the worker: the outbox, the archive, adapters
    tick_jobs(container, adapters, worker)     # the periodic job's parts
    build_notifier(container)                  # the sender of notifications (e-mail, webhook)
    with destinations(settings) as found:      # each destination's URL; in development a
        adapters = build_adapters(container, found.urls)   # simulator for one without
    with token_admin(settings) as admin:       # `disclosure tokens`: the catalog's tokens only
    with timestamp_authority(settings) as tsa: # the TSA (the simulator in development)
        tick_jobs(container, adapters, worker, tsa)   # … whose tick stamps (service.timestamping)

Destinations and categories come from their registries (service.destinations,
service.categories); entry points and use cases see limits, routes and adapters,
never the registries.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from service import metrics
from service.archive.packages import Packages
from service.archive.port import ArchiveStore
from service.catalog.database import migrate
from service.catalog.ports import Catalog, Restore
from service.catalog.sql.connect import open_catalog
from service.configured import (
    ConfigurationError,
    build_recipients,
    document_limits,
    due_dates,
    quick_retry_policy,
    spool_root,
    validation_rules,
)
from service.delivery.policy import RetryPolicy
from service.delivery.port import DestinationAdapter
from service.delivery.worker import Worker, WorkerConfig
from service.destinations import (
    destination_specs,
    limits_by_destination,
    registered_bodies,
    route_problems,
)
from service.domain.access import ALL_BODIES, Principal, Role
from service.domain.destinations import Capability
from service.domain.filing import Destination
from service.domain.notifications import Channel, Recipients
from service.domain.org import OrgRegistry
from service.domain.time import utcnow
from service.notifications.email import SmtpChannel, SmtpConfig
from service.notifications.port import NotificationChannel
from service.notifications.sender import NotificationSender, SenderConfig
from service.notifications.webhook import WebhookChannel
from service.production import CatalogTokens, token_problems
from service.proof.port import TimestampAuthority
from service.reading.pool import InProcessReader, PooledReader, ReadingBudget
from service.reading.port import DocumentReader
from service.settings import DEMO_TOKEN_PREFIX, Env, Settings
from service.spools import SpoolArea, sweep
from service.stores import build_store
from service.timestamping import build_stamper, proof_setup, timestamp_authority, trusted_roots
from service.usecases.checking import Checks
from service.usecases.deadlines import DeadlineBoard
from service.usecases.ingest import Ingest
from service.usecases.tick import TickJobs
from service.usecases.tokens import Authenticator, TokenAdmin, name_clashes, token_digest

# The API's and pages' parts (FastAPI, Jinja) and the capturer (httpx, cryptography,
# warcio) are imported where they are built: a `disclosure` command that needs neither —
# tokens, verify, rebuild-catalog — starts ~0.8 s sooner.
if TYPE_CHECKING:
    from service.entrypoints.api.services import ApiServices
    from service.entrypoints.pages import PageServices
    from service.usecases.capturing import Capturer


log = structlog.get_logger()

__all__ = [
    "proof_setup",
    "timestamp_authority",
    "trusted_roots",
]  # service.timestamping, for the entry points
DEMO_PRINCIPAL = "demo-operator"  # the demo token's name, never a catalog token's


@dataclass
class Container:
    """What one process built from its settings, and closes when it stops. Entry points
    are handed parts of it (`api()`, `build_worker`, `tick_jobs`), never all of it."""

    settings: Settings
    close_catalog: Callable[[], None]
    catalog: Catalog
    restore: Restore
    store: ArchiveStore
    packages: Packages
    registry: OrgRegistry
    tokens: Authenticator
    demo_token: str | None
    ingest: Ingest
    clock: Callable[[], datetime]

    spool_area: SpoolArea | None = None

    def api(self) -> ApiServices:
        """The API's parts; uploads go to a spool directory of this process's own, claimed
        now, after what dead processes left under the same root is cleared."""
        from service.entrypoints.api.services import ApiServices  # imported here: see TYPE_CHECKING

        if self.spool_area is None:
            root = spool_root(self.settings)
            swept = sweep(root)
            if swept.directories:
                log.info("spools_swept", root=str(root), **dataclasses.asdict(swept))
            self.spool_area = SpoolArea.claim(root)
            metrics.watch_outbox(self.catalog, self.clock)
        return ApiServices(
            ingest=self.ingest,
            catalog=self.catalog,
            packages=self.packages,
            store=self.store,
            tokens=self.tokens,
            max_upload_bytes=self.settings.max_upload_bytes,
            clock=self.clock,
            board=deadline_board(self),
            proof=proof_setup(self.settings, self.store),
            spool_dir=self.spool_area.path,
            body_idle_timeout_s=self.settings.http_body_idle_timeout_s,
            metrics_on_api=self.settings.metrics_port is None,
            recipients=self.recipients(),
            takedown=takedown_destinations(),
        )

    def pages(self) -> PageServices:
        """The pages' parts: in development, without DISCLOSURE_SESSION_SECRET, a signing
        key of this process's own (production refuses to start without one)."""
        from service.entrypoints.pages import PageServices  # imported here: see TYPE_CHECKING

        secret = self.settings.session_secret
        return PageServices(
            session_secret=secret.get_secret_value() if secret else secrets.token_urlsafe(32),
            signed_out=self.catalog,
            session_idle_s=self.settings.session_idle_s,
            bodies=self.registry,
            sign_in_failures_per_minute=self.settings.sign_in_failures_per_minute,
        )

    def recipients(self) -> Recipients:
        """Who is told of failures, returns and deadlines (service.domain.notifications)."""
        return build_recipients(self.settings, self.registry)

    def close(self) -> None:
        self.ingest.checks.reader.close()
        self.close_catalog()
        if self.spool_area is not None:
            self.spool_area.release()


def takedown_destinations() -> frozenset[str]:
    """The destinations whose adapters can take an item down (Capability.WITHDRAW)."""
    return frozenset(
        s.destination.value for s in destination_specs() if Capability.WITHDRAW in s.capabilities
    )


def deadline_board(container: Container) -> DeadlineBoard:
    return DeadlineBoard(
        container.catalog, container.registry, due_dates(container.settings), container.clock
    )


def document_reader(settings: Settings) -> PooledReader:
    budget = ReadingBudget(
        workers=settings.reading_workers,
        memory_mib=settings.reading_memory_mib,
        seconds=settings.reading_seconds,
    )
    return PooledReader(document_limits(settings), budget)


def build_checks(settings: Settings, registry: OrgRegistry, reader: DocumentReader) -> Checks:
    return Checks(
        registry=registry,
        routes=settings.routes,
        rules=validation_rules(settings),
        reader=reader,
        require_registered_body=settings.env is Env.PRODUCTION,
        limits=limits_by_destination(),
    )


def checks_in_process(settings: Settings) -> Checks:
    """What `disclosure validate` checks with: this installation's registry, rules and
    routes, documents read in this process (a command reads one file, then ends)."""
    reader = InProcessReader(document_limits(settings))
    return build_checks(settings, load_bodies(settings), reader)


def build_tokens(
    settings: Settings, catalog: Catalog, clock: Callable[[], datetime], *, serving_api: bool
) -> tuple[Authenticator, str | None]:
    """DISCLOSURE_TOKENS and, in development, the demo token, beside the catalog's tokens;
    a name in both sources, or (production) a problem across them, stops start-up."""
    grants = [
        (g.token.get_secret_value(), Principal(g.name, g.role, frozenset(g.orgs)))
        for g in settings.tokens
    ]
    _check_token_sources(settings, catalog, grants, serving_api=serving_api)
    demo = None
    if settings.env is Env.DEVELOPMENT:
        demo = (
            settings.demo_token.get_secret_value()
            if settings.demo_token
            else DEMO_TOKEN_PREFIX + secrets.token_urlsafe(18)
        )
        grants.append((demo, Principal(DEMO_PRINCIPAL, Role.OPERATOR, frozenset({ALL_BODIES}))))
    return Authenticator.of(grants, catalog, clock), demo


def configured_token_names(settings: Settings) -> frozenset[str]:
    """The names the settings' tokens hold, which no catalog token may take."""
    return frozenset({DEMO_PRINCIPAL, *(g.name for g in settings.tokens)})


def _check_token_sources(
    settings: Settings,
    catalog: Catalog,
    grants: list[tuple[str, Principal]],
    *,
    serving_api: bool,
) -> None:
    clashes = name_clashes(configured_token_names(settings), catalog)
    if clashes:
        raise ConfigurationError(
            f"token names both in DISCLOSURE_TOKENS and in the catalog: {', '.join(clashes)} "
            "(a name lives in one source only: rename or remove it in DISCLOSURE_TOKENS)"
        )
    same = {
        p.name: found.name
        for secret, p in grants
        if (found := catalog.find_token(token_digest(secret)))
    }
    usable = sum(1 for t in catalog.list_tokens() if not t.revoked)
    problems = token_problems(settings, CatalogTokens(usable, same), serving_api=serving_api)
    if problems:
        raise ConfigurationError("; ".join(problems))


@contextmanager
def token_admin(settings: Settings) -> Iterator[TokenAdmin]:
    """The catalog's tokens, for `disclosure tokens`: only the catalog is opened and no
    production check is made, so the first token can be created before anything serves."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)  # where a SQLite catalog lives
    opened = open_catalog(settings.resolved_database_url, clock=utcnow)
    try:
        yield TokenAdmin(opened.catalog, configured_token_names(settings))
    finally:
        opened.close()


def load_bodies(settings: Settings) -> OrgRegistry:
    """The registry of bodies, their accounts checked against the destinations'."""
    return registered_bodies(settings)


def migrate_catalog(settings: Settings) -> None:
    """Bring the catalog's schema to the newest migration (`disclosure migrate`)."""
    migrate(settings.resolved_database_url)


def build_container(
    settings: Settings, *, clock: Callable[[], datetime] = utcnow, serving_api: bool = False
) -> Container:
    """`serving_api`: this process will answer API requests (`serve`), so production also
    needs a token someone can use; other commands (a rebuild into an empty catalog among
    them) run without one."""
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError("; ".join(problems))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    opened = open_catalog(settings.resolved_database_url, clock=clock)
    catalog = opened.catalog
    try:
        tokens, demo = build_tokens(settings, catalog, clock, serving_api=serving_api)
    except ConfigurationError:
        opened.close()
        raise
    store = build_store(settings.resolved_archive_url, settings)
    packages = Packages(store, clock=clock)
    registry = load_bodies(settings)
    checks = build_checks(settings, registry, document_reader(settings))
    ingest = Ingest(catalog=catalog, packages=packages, checks=checks, clock=clock)
    return Container(
        settings,
        opened.close,
        catalog,
        opened.restore,
        store,
        packages,
        registry,
        tokens,
        demo,
        ingest,
        clock,
    )


@dataclass(frozen=True)
class Found:
    """Each destination's URL (None: no route goes there, so no adapter), and which of
    them are simulators this process started."""

    urls: dict[Destination, str | None]
    simulated: list[Destination] = field(default_factory=list)


@contextmanager
def destinations(settings: Settings) -> Iterator[Found]:
    """The destinations' URLs; in development a simulator for each one without a URL,
    running in this process until the block ends."""
    problems = route_problems(settings.routes)
    if problems:
        raise ConfigurationError("; ".join(problems))
    with ExitStack() as stack:
        found = Found({})
        for spec in destination_specs():
            url = spec.url(settings)
            if not url and settings.routes_to(spec.destination):
                if settings.env is not Env.DEVELOPMENT or spec.simulator is None:
                    raise ConfigurationError(f"no URL for {spec.destination} (DISCLOSURE_…_URL)")
                url = str(stack.enter_context(spec.simulator(settings)).url)
                found.simulated.append(spec.destination)
            found.urls[spec.destination] = url or None
        yield found


def build_adapters(
    container: Container, urls: dict[Destination, str | None]
) -> dict[str, DestinationAdapter]:
    """An adapter for each destination that has a URL."""
    return {
        spec.destination.value: spec.build(container.settings, url, container.registry)
        for spec in destination_specs()
        if (url := urls.get(spec.destination))
    }


def _capturer(container: Container, hosts: Collection[str]) -> Capturer | None:
    from service.captures import capturer_of  # imported here: see TYPE_CHECKING

    return capturer_of(container, hosts, worker_id())


def worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def build_worker(container: Container, adapters: dict[str, DestinationAdapter]) -> Worker:
    s = container.settings
    config = WorkerConfig(
        worker_id=worker_id(),
        concurrency=s.worker_concurrency,
        lease=timedelta(seconds=s.lease_s),
        poll_s=s.worker_poll_s,
        policy=RetryPolicy.of_seconds(s.retry_schedule_s, s.give_up_after_s),
        wait=timedelta(seconds=s.prerequisite_wait_s),
    )
    return Worker(
        catalog=container.catalog,
        packages=container.packages,
        adapters=adapters,
        config=config,
        clock=container.clock,
        reader=container.ingest.checks.reader,
        after={
            spec.destination.value: [d.value for d in spec.after]
            for spec in destination_specs()
            if spec.after
        },
        recipients=container.recipients(),
    )


def notification_channels(
    settings: Settings, clock: Callable[[], datetime]
) -> dict[Channel, NotificationChannel]:
    """A channel for each one configured: e-mail with an SMTP host, a webhook with a URL."""
    s, quick = settings, quick_retry_policy(settings)
    channels: dict[Channel, NotificationChannel] = {}
    if s.smtp_host:
        config = SmtpConfig(
            host=s.smtp_host,
            port=s.resolved_smtp_port,
            tls=s.smtp_tls,
            sender=s.smtp_sender,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            timeout_s=s.smtp_timeout_s,
            ca_file=str(s.smtp_ca_file) if s.smtp_ca_file else None,
        )
        channels[Channel.EMAIL] = SmtpChannel(config, quick)
    if s.webhook_url and s.webhook_secret is not None:
        channels[Channel.WEBHOOK] = WebhookChannel(
            s.webhook_url,
            s.webhook_secret.get_secret_value(),
            quick,
            clock=clock,
            timeout_s=s.webhook_timeout_s,
        )
    return channels


def build_notifier(container: Container) -> NotificationSender:
    s = container.settings
    return NotificationSender(
        catalog=container.catalog,
        channels=notification_channels(s, container.clock),
        config=SenderConfig(
            worker_id=worker_id(),
            policy=RetryPolicy.of_seconds(s.retry_schedule_s, s.give_up_after_s),
            lease=timedelta(seconds=s.lease_s),
            poll_s=s.notify_poll_s,
        ),
        clock=container.clock,
    )


def tick_jobs(
    container: Container,
    adapters: dict[str, DestinationAdapter],
    worker: Worker | None,
    tsa: TimestampAuthority | None = None,
    hosts: Collection[str] = (),
) -> TickJobs:
    """`tsa`: stamp there (service.timestamping); `hosts`: capture there (service.captures)."""
    s = container.settings
    stamper = build_stamper(
        s, container.catalog, container.store, tsa, clock=container.clock, worker=worker_id()
    )
    return TickJobs(
        catalog=container.catalog,
        packages=container.packages,
        store=container.store,
        restore=container.restore,
        worker=worker,
        reviewing=[a for a in adapters.values() if Capability.REVIEWS in a.capabilities],  # type: ignore[misc]
        review_interval=timedelta(seconds=s.review_poll_interval_s),
        fixity_sample=s.fixity_sample_per_tick,
        clock=container.clock,
        recipients=container.recipients(),
        # inside `serve` (no worker here) the sender runs in a thread of its own
        notifier=build_notifier(container) if worker is not None else None,
        deadlines=deadline_board(container),
        deadline_notice_days=s.deadline_notice_days,
        stamper=stamper if tsa is not None else None,
        capturer=_capturer(container, hosts),
    )

"""The composition root: the one place that builds real clients from settings."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from sqlalchemy import Engine

from service.api.auth import TokenRegistry
from service.archive.filesystem import FilesystemStore
from service.archive.packages import Packages
from service.archive.port import ArchiveStore
from service.catalog.database import make_engine, make_sessions, migrate
from service.catalog.repository import Catalog, utcnow
from service.delivery.policy import RetryPolicy
from service.delivery.port import DestinationAdapter
from service.delivery.portal import DEFAULT_CHANNELS, PortalAdapter, PortalConfig
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import ALL_BODIES, Principal, Role
from service.domain.org import OrgRegistry
from service.ingest import Ingest
from service.orgs import load_registry
from service.settings import DEMO_TOKEN_PREFIX, Env, Settings
from service.validation import ValidationRules
from service.validation.documents import DocumentLimits


class ConfigurationError(Exception):
    """The settings cannot make a working service; the message says what to change."""


@dataclass
class Container:
    settings: Settings
    engine: Engine
    catalog: Catalog
    store: ArchiveStore
    packages: Packages
    registry: OrgRegistry
    tokens: TokenRegistry
    demo_token: str | None
    ingest: Ingest
    clock: Callable[[], datetime]

    def close(self) -> None:
        self.engine.dispose()


def build_store(archive_url: str) -> ArchiveStore:
    parsed = urlparse(archive_url)
    if parsed.scheme == "file":
        root = Path(unquote(parsed.path))
        root.mkdir(parents=True, exist_ok=True)
        return FilesystemStore(root)
    raise ConfigurationError(f"unsupported DISCLOSURE_ARCHIVE_URL scheme: {parsed.scheme!r}")


def build_tokens(settings: Settings) -> tuple[TokenRegistry, str | None]:
    grants = [
        (g.token.get_secret_value(), Principal(g.name, g.role, frozenset(g.orgs)))
        for g in settings.tokens
    ]
    demo = None
    if settings.env is Env.DEVELOPMENT:
        demo = (
            settings.demo_token.get_secret_value()
            if settings.demo_token
            else DEMO_TOKEN_PREFIX + secrets.token_urlsafe(18)
        )
        grants.append((demo, Principal("demo-operator", Role.OPERATOR, frozenset({ALL_BODIES}))))
    return TokenRegistry.of(grants), demo


def build_container(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Container:
    problems = settings.production_problems()
    if problems:
        raise ConfigurationError("; ".join(problems))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    migrate(url)
    engine = make_engine(url)
    catalog = Catalog(make_sessions(engine), clock=clock)
    store = build_store(settings.resolved_archive_url)
    packages = Packages(store, clock=clock)
    registry = load_registry(settings.orgs_file)
    tokens, demo = build_tokens(settings)
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        registry=registry,
        routes=settings.routes,
        rules=ValidationRules(rule_of_law_deadline=settings.rule_of_law_deadline),
        document_limits=DocumentLimits(),
        require_registered_body=settings.env is Env.PRODUCTION,
        clock=clock,
    )
    return Container(
        settings, engine, catalog, store, packages, registry, tokens, demo, ingest, clock
    )


def build_adapters(settings: Settings, portal_url: str) -> dict[str, DestinationAdapter]:
    portal = PortalAdapter(
        PortalConfig(
            base_url=portal_url,
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
            channels={**DEFAULT_CHANNELS, **settings.portal_channels},
            timeout_s=settings.portal_timeout_s,
            quick_tries=settings.quick_tries,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
    )
    return {"portal": portal}


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
    )
    return Worker(
        catalog=container.catalog,
        packages=container.packages,
        adapters=adapters,
        config=config,
        clock=container.clock,
    )

"""The composition root's part for trusted timestamps (service.bootstrap imports it):
the TSA adapter from settings, the trusted roots, and the stamper that the tick runs.

    with timestamp_authority(settings) as tsa:     # HttpTsa; in development without
        stamper = build_stamper(container, tsa)    # DISCLOSURE_TSA_URL, the simulator
    trusted_roots(settings)                        # what verification trusts

Production without a TSA starts with a warning: the stamp jobs wait, shown as
`not_configured`, until one is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from cryptography import x509

from service.archive.packages.proof import Proofs
from service.archive.port import ArchiveStore
from service.catalog.ports import Timestamps
from service.configured import ConfigurationError
from service.delivery.policy import RetryPolicy
from service.proof.port import TimestampAuthority
from service.proof.tokens import load_roots
from service.proof.tsa import HttpTsa, TsaConfig
from service.settings import Env, Settings
from service.simulators import run_in_thread
from service.simulators.tsa import Authority, create_app
from service.usecases.proof import ProofSetup
from service.usecases.stamping import Stamper

log = structlog.get_logger()


def simulator_dir(settings: Settings) -> Path:
    return settings.data_dir / "tsa-simulator"


def simulated(settings: Settings) -> bool:
    return settings.tsa_url is None and settings.env is Env.DEVELOPMENT


def roots_file(settings: Settings) -> Path | None:
    if settings.tsa_roots_file is not None:
        return settings.tsa_roots_file
    return simulator_dir(settings) / "root.pem" if simulated(settings) else None


def trusted_roots(settings: Settings) -> list[x509.Certificate]:
    """The configured roots; none (every token then fails verification, said so) when the
    file is missing or holds no certificate."""
    path = roots_file(settings)
    if path is None or not path.exists():
        return []
    try:
        return load_roots(path.read_bytes())
    except ValueError:
        log.error("tsa_roots_unreadable", file=str(path))
        return []


@contextmanager
def timestamp_authority(settings: Settings) -> Iterator[TimestampAuthority | None]:
    """The TSA: the configured one, the simulator (development), or None (production
    without a TSA: a warning)."""
    if settings.tsa_url is None and settings.env is not Env.DEVELOPMENT:
        log.warning("tsa_not_configured", hint="DISCLOSURE_TSA_URL, DISCLOSURE_TSA_ROOTS_FILE")
        yield None
        return
    with ExitStack() as stack:
        url = settings.tsa_url
        if url is None:
            authority = Authority.kept_in(simulator_dir(settings))
            url = stack.enter_context(run_in_thread(create_app(authority))).url + "/"
        try:
            tsa = HttpTsa(_config(settings, url))
        except ValueError as exc:  # the TLS files: named, their content never shown
            raise ConfigurationError(str(exc)) from None
        stack.callback(tsa.close)
        yield tsa


def _config(settings: Settings, url: str) -> TsaConfig:
    return TsaConfig(
        url=url,
        roots=trusted_roots(settings),
        username=settings.tsa_username,
        password=settings.tsa_password,
        timeout_s=settings.tsa_timeout_s,
        ca_file=settings.tsa_ca_file,
        client_cert_file=settings.tsa_client_cert_file,
        client_key_file=settings.tsa_client_key_file,
        client_key_password=settings.tsa_client_key_password,
    )


def build_stamper(
    settings: Settings, catalog: Timestamps, store: ArchiveStore, tsa: TimestampAuthority | None,
    *, clock: Callable[[], datetime], worker: str,
) -> Stamper:  # fmt: skip
    return Stamper(
        catalog=catalog,
        proofs=Proofs(store),
        tsa=tsa,
        roots=trusted_roots(settings),
        policy=RetryPolicy.of_seconds(settings.retry_schedule_s, settings.give_up_after_s),
        lease=timedelta(seconds=settings.lease_s),
        clock=clock,
        worker=worker,
    )


def proof_setup(settings: Settings, store: ArchiveStore) -> ProofSetup:
    """What showing and verifying proof needs: the roots, and whether stamps will come
    (a TSA configured, or the simulator in development)."""
    configured = settings.tsa_url is not None or settings.env is Env.DEVELOPMENT
    return ProofSetup(Proofs(store), trusted_roots(settings), tsa_configured=configured)

"""What production refuses that development tolerates: every reason this configuration
must not serve a government body, named by its setting, never quoting a secret.

    problems(settings)      → ["DISCLOSURE_PORTAL_URL is http:// …", …]   (empty: it may start)
    token_problems(settings, CatalogTokens(usable, same_secret), serving_api=True)
                            → what the catalog's tokens add, once the catalog is open

Tokens come from two sources, DISCLOSURE_TOKENS and the catalog (`disclosure tokens
create`, which makes only strong secrets and keeps only their hash): weak, demo and
twice-given secrets are looked for in the settings, a settings secret that is also a
catalog token's across both, and "no tokens" is satisfied by either.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from service.destinations import destination_specs
from service.domain.filing import Destination
from service.settings import DEMO_TOKEN_PREFIX, Env, Settings, is_weak_secret

MIN_TOKEN_CHARS = 24
MIN_SESSION_SECRET_CHARS = 32  # an HMAC key: at least 32 characters of a random string


def problems(settings: Settings) -> list[str]:
    return [
        *_destination_problems(settings),
        *_transport_problems(settings),
        *_token_problems(settings),
        *_session_problems(settings),
        *_storage_problems(settings),
        *_notification_problems(settings),
        *_tsa_problems(settings),
        *(
            ["DISCLOSURE_ORGS_FILE is not set; production needs a registry of bodies"]
            if settings.orgs_file is None
            else []
        ),
    ]


def _destination_problems(settings: Settings) -> Iterator[str]:
    for spec in destination_specs():
        if spec.destination is Destination.PORTAL or settings.routes_to(spec.destination):
            yield from spec.problems(settings)


def _transport_problems(settings: Settings) -> Iterator[str]:
    """Documents and secrets travel only over TLS, unless an admin names the host."""
    urls = {
        f"the {spec.destination.value} URL": spec.url(settings)
        for spec in destination_specs()
        if spec.destination is Destination.PORTAL or settings.routes_to(spec.destination)
    }
    if settings.resolved_archive_url.startswith("s3:"):
        urls["DISCLOSURE_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    urls["DISCLOSURE_WEBHOOK_URL"] = settings.webhook_url
    for what, url in urls.items():
        parsed = urlparse(url or "")
        if url and parsed.scheme != "https" and parsed.hostname not in settings.allow_http_hosts:
            yield (
                f"{what} is {parsed.scheme}://, not https:// (name its host in "
                "DISCLOSURE_ALLOW_HTTP_HOSTS to allow it)"
            )


def _token_problems(settings: Settings) -> Iterator[str]:
    if settings.demo_token is not None:
        yield "DISCLOSURE_DEMO_TOKEN is set; demo tokens are for development only"
    for grant in settings.tokens:
        secret = grant.token.get_secret_value()
        if secret.startswith(DEMO_TOKEN_PREFIX) or len(secret) < MIN_TOKEN_CHARS:
            yield f"token {grant.name!r} is a demo token or shorter than {MIN_TOKEN_CHARS} characters"
        elif is_weak_secret(secret):
            yield f"token {grant.name!r} is too easy to guess"
    names = Counter(grant.name for grant in settings.tokens)
    yield from (f"two tokens are named {name!r}" for name, n in names.items() if n > 1)
    values = Counter(grant.token.get_secret_value() for grant in settings.tokens)
    for grant in settings.tokens:
        if values[grant.token.get_secret_value()] > 1:
            yield f"token {grant.name!r} has the same value as another token"


@dataclass(frozen=True)
class CatalogTokens:
    """What production asks of the catalog's tokens."""

    usable: int  # not revoked
    # a DISCLOSURE_TOKENS token's name → the catalog token with the same secret
    same_secret: Mapping[str, str] = field(default_factory=dict)


def token_problems(settings: Settings, catalog: CatalogTokens, *, serving_api: bool) -> list[str]:
    """`serving_api`: this process answers requests, so someone must be able to use it."""
    found = [
        f"token {name!r} in DISCLOSURE_TOKENS has the secret of catalog token {other!r} "
        "(a revoked token's secret must never come back)"
        for name, other in sorted(catalog.same_secret.items())
    ]
    if serving_api and not settings.tokens and not catalog.usable:
        found.append(
            "no tokens: neither DISCLOSURE_TOKENS nor the catalog holds one that is not "
            "revoked (create one with `disclosure tokens create`); nobody could use the service"
        )
    return found if settings.env is Env.PRODUCTION else []


def _session_problems(settings: Settings) -> Iterator[str]:
    """Whoever knows the pages' signing key can forge a session for any token's name."""
    secret = settings.session_secret.get_secret_value() if settings.session_secret else ""
    if not secret:
        yield "DISCLOSURE_SESSION_SECRET is not set; the pages' sessions need a signing key"
    elif len(secret) < MIN_SESSION_SECRET_CHARS or is_weak_secret(secret):
        yield (
            f"DISCLOSURE_SESSION_SECRET is too easy to guess (use at least "
            f"{MIN_SESSION_SECRET_CHARS} random characters)"
        )


def _storage_problems(settings: Settings) -> Iterator[str]:
    if settings.allow_embedded_storage:
        return
    if settings.resolved_database_url.startswith("sqlite"):
        yield (
            "the catalog is SQLite (set DISCLOSURE_DATABASE_URL to PostgreSQL, or "
            "DISCLOSURE_ALLOW_EMBEDDED_STORAGE=true for a single machine)"
        )
    if settings.resolved_archive_url.startswith("file:"):
        yield (
            "the archive is a directory, not write-once object storage (set "
            "DISCLOSURE_ARCHIVE_URL to s3://…, or DISCLOSURE_ALLOW_EMBEDDED_STORAGE=true)"
        )


def _tsa_problems(settings: Settings) -> Iterator[str]:
    """A TSA whose tokens nothing could verify; its password sent in clear. (No TSA at
    all only warns: the stamps wait, `not_configured`.)"""
    if settings.tsa_url and settings.tsa_roots_file is None:
        yield "DISCLOSURE_TSA_URL is set without DISCLOSURE_TSA_ROOTS_FILE (the TSA's trusted roots)"
    elif settings.tsa_roots_file is not None and not settings.tsa_roots_file.is_file():
        yield f"DISCLOSURE_TSA_ROOTS_FILE {settings.tsa_roots_file} is not a file"
    parsed = urlparse(settings.tsa_url or "")
    if (
        settings.tsa_password is not None
        and settings.tsa_url
        and parsed.scheme != "https"
        and (parsed.hostname not in settings.allow_http_hosts)
    ):
        yield "DISCLOSURE_TSA_PASSWORD would travel over plain http:// (use https://)"
    yield from _tsa_client_certificate_problems(settings)


def _tsa_client_certificate_problems(settings: Settings) -> Iterator[str]:
    """A client certificate without its key (or a key alone), a file that cannot be read,
    or one meant for a TSA spoken to in plain http:// (no TLS: never sent)."""
    files = {
        "DISCLOSURE_TSA_CLIENT_CERT_FILE": settings.tsa_client_cert_file,
        "DISCLOSURE_TSA_CLIENT_KEY_FILE": settings.tsa_client_key_file,
        "DISCLOSURE_TSA_CA_FILE": settings.tsa_ca_file,
    }
    cert, key = settings.tsa_client_cert_file, settings.tsa_client_key_file
    if (cert is None) != (key is None):
        yield "DISCLOSURE_TSA_CLIENT_CERT_FILE and DISCLOSURE_TSA_CLIENT_KEY_FILE go together"
    for name, path in files.items():
        if path is not None and not _readable(path):
            yield f"{name} {path} is not a readable file"
    if cert is not None and urlparse(settings.tsa_url or "").scheme != "https":
        yield "DISCLOSURE_TSA_CLIENT_CERT_FILE needs an https:// DISCLOSURE_TSA_URL"


def _notification_problems(settings: Settings) -> Iterator[str]:
    """A webhook whose signature anyone could forge; a mail password sent in clear."""
    secret = settings.webhook_secret
    if settings.webhook_url and (secret is None or is_weak_secret(secret.get_secret_value())):
        yield "DISCLOSURE_WEBHOOK_SECRET is missing, a placeholder or too easy to guess"
    if (
        settings.smtp_host
        and settings.smtp_password is not None
        and settings.smtp_tls == "none"
        and settings.smtp_host not in settings.allow_http_hosts
    ):
        yield (
            "DISCLOSURE_SMTP_TLS is none while a password is set (use starttls or tls, or "
            "name the host in DISCLOSURE_ALLOW_HTTP_HOSTS)"
        )


def _readable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.R_OK)

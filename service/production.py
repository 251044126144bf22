"""What production refuses that development tolerates: every reason this configuration
must not serve a government body, named by its setting, never quoting a secret.

    problems(settings)   → ["DISCLOSURE_PORTAL_URL is http:// …", …]   (empty: it may start)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlparse

from service.destinations import destination_specs
from service.domain.filing import Destination
from service.settings import DEMO_TOKEN_PREFIX, Settings, is_weak_secret

MIN_TOKEN_CHARS = 24


def problems(settings: Settings) -> list[str]:
    return [
        *_destination_problems(settings),
        *_transport_problems(settings),
        *_token_problems(settings),
        *_storage_problems(settings),
        *_notification_problems(settings),
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
    if not settings.tokens:
        yield "DISCLOSURE_TOKENS is empty: nobody could use the service"
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

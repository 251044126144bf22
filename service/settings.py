"""Settings, read once in the entry point (prefix DISCLOSURE_) and passed down.

Nothing here reads the environment at import time; `Settings()` is built by the
CLI and tests build their own.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.domain.access import Role
from service.domain.filing import Category, Destination
from service.domain.notifications import valid_email

MiB = 1024 * 1024
DEMO_TOKEN_PREFIX = "demo-"
PLACEHOLDER_SECRETS = frozenset(
    {"legal-demo-secret"} | {"", "changeme", "change-me", "secret", "portal-demo-secret", "demo"}
)


def is_weak_secret(secret: str) -> bool:
    """A placeholder, or short, or of so few different characters that it is guessed."""
    return secret.lower() in PLACEHOLDER_SECRETS or len(secret) < 16 or len(set(secret)) < 8


class Env(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class TokenGrant(BaseModel):
    """A bearer token, the role it carries and the bodies (org codes) it may act for ("*": all)."""

    name: str
    token: SecretStr
    role: Role
    orgs: list[str] = Field(default_factory=list)


def _default_routes() -> dict[Category, list[Destination]]:
    """Each kind's own (service.categories), read when settings are made, so a kind
    registered before then has its routes."""
    from service.categories import default_routes

    return default_routes()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISCLOSURE_", extra="ignore")

    env: Env = Env.DEVELOPMENT
    data_dir: Path = Path("./var")
    database_url: str | None = None
    archive_url: str | None = None  # file:///PATH (default ./var/archive) or s3://BUCKET/PREFIX

    # The S3 archive (service.archive.s3). Credentials the standard AWS way
    # (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE), never settings.
    s3_endpoint_url: str | None = None  # None: AWS itself
    s3_region: str = "us-east-1"
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    s3_connect_timeout_s: float = Field(default=2.0, gt=0)  # short: an outage answers 503 fast
    s3_read_timeout_s: float = Field(default=30.0, gt=0)
    s3_max_attempts: int = Field(default=3, ge=1, le=10)  # the SDK's, the first included
    s3_retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    s3_multipart_threshold_bytes: int = Field(default=64 * MiB, ge=5 * MiB)
    s3_multipart_part_bytes: int = Field(default=16 * MiB, ge=5 * MiB, le=5 * 1024 * MiB)
    s3_multipart_concurrency: int = Field(default=4, ge=1, le=32)
    s3_spool_dir: Path | None = None  # None: the system temp dir
    # Object Lock, where the bucket has it: per category, in years or "permanent" (legal
    # hold plus s3_permanent_retention_years), over DOMAIN.md §1's defaults.
    s3_object_lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] = "COMPLIANCE"
    s3_permanent_retention_years: int = Field(default=70, ge=1)
    retention: dict[Category, int | Literal["permanent"]] = Field(default_factory=dict)
    retention_default: int | Literal["permanent"] = "permanent"  # keys outside filings/
    orgs_file: Path | None = None
    # Production refuses plain http:// to any host not named here (a gateway on the
    # intranet), and SQLite or a filesystem archive unless embedded storage is allowed.
    allow_http_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allow_embedded_storage: bool = False
    log_format: str = Field(default="auto", pattern="^(auto|console|json)$")
    log_level: str = "info"

    host: str = "127.0.0.1"
    port: int = 8000
    # Against slow and crowding clients (service.entrypoints.http_server): a request's
    # line and headers must come within the first, its body's next bytes within the
    # second; idle keep-alive connections close after the third; connections beyond the
    # last are closed as they open.
    http_header_timeout_s: float = Field(default=10.0, gt=0)
    http_body_idle_timeout_s: float = Field(default=30.0, gt=0)
    http_keep_alive_s: float = Field(default=5.0, gt=0)
    http_max_connections: int = Field(default=1000, ge=10)
    # /metrics on a port of its own (on `host`); None: on the API's, at /metrics.
    metrics_port: int | None = None
    max_upload_bytes: int = 50 * MiB
    # Where uploads are spooled while received: one locked directory per process under it
    # (service.spools); None: disclosure-uploads in the system's temp dir.
    spool_dir: Path | None = None

    tokens: Annotated[list[TokenGrant], NoDecode] = Field(default_factory=list)
    demo_token: SecretStr | None = None

    # The pages (service.entrypoints.pages): the key that signs their session cookie
    # (required in production, the same on every API replica; development makes one per
    # process, so a restart signs everyone out), how long a session may stay idle, and how
    # many sign-in attempts one client address may make in a minute.
    session_secret: SecretStr | None = None
    session_idle_s: float = Field(default=1800.0, gt=0)
    sign_in_failures_per_minute: int = Field(default=5, ge=1)

    portal_url: str | None = None
    portal_client_id: str = "portal-demo"
    portal_client_secret: SecretStr = SecretStr("portal-demo-secret")
    portal_channels: dict[str, str] = Field(default_factory=dict)
    portal_timeout_s: float = 30.0

    legal_platform_url: str | None = None
    legal_platform_app_key: str = "legal-demo"
    legal_platform_app_secret: SecretStr = SecretStr("legal-demo-secret")
    legal_platform_timeout_s: float = 30.0

    # The WeChat official account (微信公众号, service.delivery.wechat): the API's base URL
    # (https://api.weixin.qq.com/cgi-bin/; none in development: the simulator), its timeout,
    # and the cover image an article gets when its body names none of its own (a JPEG or
    # PNG under 1 MB; none: the built-in cover). Each body's appid and secret are its account
    # in the registry of bodies (DISCLOSURE_ORGS_FILE).
    wechat_url: str | None = None
    wechat_timeout_s: float = Field(default=30.0, gt=0)
    wechat_cover_file: Path | None = None
    wechat_covers: dict[str, Path] = Field(default_factory=dict)  # org_code → its own cover
    # A submit whose answer was lost and that the platform does not list yet is looked for
    # again for this long before it is sent again (it may still be publishing).
    wechat_lost_submit_grace_s: float = Field(default=7200.0, ge=0)

    routes: dict[Category, list[Destination]] = Field(default_factory=_default_routes)
    serve_worker: bool = (
        True  # false: `serve` runs the API only (workers run as `disclosure worker`)
    )
    tick_interval_s: float = 60.0  # `serve`'s internal tick loop; 0 turns it off
    review_poll_interval_s: float = 3600.0  # how often one RECEIVED report's review is polled
    fixity_sample_per_tick: int = 5

    # Delivery: every duration is a setting so tests can run the schedule in milliseconds.
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_poll_s: float = 1.0
    lease_s: float = 300.0
    # a delivery that needs another destination's receipt first looks again after this long
    prerequisite_wait_s: float = Field(default=5.0, gt=0)
    quick_tries: int = Field(default=3, ge=1, le=10)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    give_up_after_s: float = 72 * 3600.0
    rule_of_law_deadline: tuple[int, int] = (3, 31)
    # Validation (DOMAIN.md): deadlines are defaults a body may change; limits bound what
    # reading one document may cost (service.validation.formats.limits.DocumentLimits).
    gov_info_deadline_department: tuple[int, int] = (1, 31)
    gov_info_deadline_district_government: tuple[int, int] = (3, 31)
    budget_publish_days: int = Field(default=20, ge=0, le=366)
    change_publish_working_days: int = Field(default=20, ge=0, le=250)
    holidays_file: Path | None = None  # a year's holidays until chinesecalendar has them
    # The deadline board (service.usecases.deadlines): where no 批复 day is recorded, the
    # (month, day) a budget's is expected in its own year, and final accounts' in the next.
    budget_expected_approval: tuple[int, int] = (2, 15)
    final_accounts_expected_approval: tuple[int, int] = (7, 31)
    # `tick` logs and counts what falls due within this many days (and what is overdue).
    deadline_notice_days: int = Field(default=14, ge=0, le=366)
    document_max_chars: int = Field(default=5_000_000, ge=1_000)
    document_max_paragraphs: int = Field(default=20_000, ge=10)
    document_max_pdf_pages: int = Field(default=2_000, ge=1)
    document_max_decompressed_bytes: int = Field(default=200 * MiB, ge=MiB)
    document_max_part_bytes: int = Field(default=16 * MiB, ge=64 * 1024)
    document_max_zip_members: int = Field(default=10_000, ge=10)
    document_max_table_cells: int = Field(default=200_000, ge=100)
    document_max_xml_elements: int = Field(default=1_000_000, ge=10_000)
    document_max_xml_depth: int = Field(default=256, ge=32)
    # Uploads are read in a pool of worker processes (service.reading.pool): how many at once,
    # the address space of each (its Python runtime and libraries included), and the
    # wall time for one document.
    reading_workers: int = Field(default=2, ge=1, le=32)
    reading_memory_mib: int = Field(default=128, ge=64)
    reading_seconds: float = Field(default=15.0, gt=0)

    # Notifications (service.notifications): e-mail when smtp_host is set, a webhook when
    # webhook_url is; each body's contacts (registry of bodies) and compliance_email get
    # the e-mails. Retried along retry_schedule_s until give_up_after_s, like deliveries.
    smtp_host: str | None = None
    smtp_port: int | None = None  # None: 465 with tls, else 587 with starttls, else 25
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_sender: str = "disclosure@localhost.localdomain"
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    smtp_ca_file: Path | None = None  # CAs to trust for the mail server (None: the system's)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    compliance_email: str | None = None  # told of every event, beside the body's contacts
    notify_poll_s: float = Field(default=5.0, gt=0)  # how often the worker sends what is due

    # Trusted timestamps (service.proof): the TSA's URL (RFC 3161 over HTTP), its credentials
    # when it wants them (basic auth, or a client certificate: PEM certificate and key files,
    # both or neither), the CAs of its https certificate when not the system's, and the PEM
    # of the roots its tokens must chain to.
    # No URL: development runs the TSA simulator; production warns and reports not_configured.
    # Stamp jobs retry along retry_schedule_s until give_up_after_s, like deliveries.
    tsa_url: str | None = None
    tsa_username: str | None = None
    tsa_password: SecretStr | None = None
    tsa_roots_file: Path | None = None
    tsa_ca_file: Path | None = None
    tsa_client_cert_file: Path | None = None
    tsa_client_key_file: Path | None = None
    tsa_client_key_password: SecretStr | None = None  # for a key file stored encrypted
    tsa_timeout_s: float = Field(default=30.0, gt=0)

    # Capture of what was published (service.usecases.capturing): the public page each
    # destination reports is fetched (only on its hosts and `capture_hosts`), archived as
    # WARC and re-checked `capture_schedule_days` after the capture, then every
    # `capture_monthly_days`. A first 404 is retried `capture_grace_s` before it is rot.
    capture_enabled: bool = True
    capture_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    capture_grace_s: float = Field(default=24 * 3600.0, ge=0)
    capture_retry_s: float = Field(default=1800.0, gt=0)
    capture_schedule_days: list[int] = Field(default_factory=lambda: [1, 7, 30])
    capture_monthly_days: int = Field(default=30, ge=1)
    capture_max_bytes: int = Field(default=20 * MiB, ge=64 * 1024)
    capture_timeout_s: float = Field(default=30.0, gt=0)
    capture_max_redirects: int = Field(default=5, ge=0, le=20)
    capture_max_attachments: int = Field(default=10, ge=0, le=100)

    @field_validator("allow_http_hosts", "capture_hosts", mode="before")
    @classmethod
    def _parse_hosts(cls, value: Any) -> Any:
        return (
            [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) else value
        )

    @field_validator("compliance_email", "smtp_sender")
    @classmethod
    def _valid_email(cls, value: str | None) -> str | None:
        return None if value is None else valid_email(value)

    @field_validator("tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_retry_schedule(self) -> Settings:
        if not self.retry_schedule_s:
            raise ValueError("retry_schedule_s must have at least one step")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret (receivers verify the signature)")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'catalog.sqlite3').resolve()}"

    @property
    def resolved_archive_url(self) -> str:
        return self.archive_url or f"file://{(self.data_dir / 'archive').resolve()}"

    @property
    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"tls": 465, "starttls": 587}.get(self.smtp_tls, 25)

    @property
    def give_up_after(self) -> timedelta:
        return timedelta(seconds=self.give_up_after_s)

    def routes_to(self, destination: Destination) -> bool:
        return any(destination in targets for targets in self.routes.values())

    def production_problems(self) -> list[str]:
        """Why this configuration must not start in production (empty when it may)."""
        if self.env is not Env.PRODUCTION:
            return []
        from service.production import problems  # it reads the destination registry

        return problems(self)

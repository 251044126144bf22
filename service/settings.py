"""Settings, read once in the entry point (prefix DISCLOSURE_) and passed down.

Nothing here reads the environment at import time; `Settings()` is built by the
CLI and tests build their own.
"""

from __future__ import annotations

import json
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from service.domain.access import Role
from service.domain.filing import Category, Destination

MiB = 1024 * 1024
DEMO_TOKEN_PREFIX = "demo-"
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "portal-demo-secret", "demo"}
)


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
    # The legal platform joins rule_of_law_report once its adapter exists (issue 5).
    return {c: [Destination.PORTAL] for c in Category}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISCLOSURE_", extra="ignore")

    env: Env = Env.DEVELOPMENT
    data_dir: Path = Path("./var")
    database_url: str | None = None
    archive_url: str | None = None
    orgs_file: Path | None = None
    log_format: str = Field(default="auto", pattern="^(auto|console|json)$")
    log_level: str = "info"

    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 50 * MiB

    tokens: Annotated[list[TokenGrant], NoDecode] = Field(default_factory=list)
    demo_token: SecretStr | None = None

    portal_url: str | None = None
    portal_client_id: str = "portal-demo"
    portal_client_secret: SecretStr = SecretStr("portal-demo-secret")
    portal_channels: dict[str, str] = Field(default_factory=dict)
    portal_timeout_s: float = 30.0

    routes: dict[Category, list[Destination]] = Field(default_factory=_default_routes)

    # Delivery: every duration is a setting so tests can run the schedule in milliseconds.
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    worker_poll_s: float = 1.0
    lease_s: float = 300.0
    quick_tries: int = Field(default=3, ge=1, le=10)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_schedule_s: list[float] = Field(
        default_factory=lambda: [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    give_up_after_s: float = 72 * 3600.0
    rule_of_law_deadline: tuple[int, int] = (3, 31)

    @field_validator("tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_retry_schedule(self) -> Settings:
        if not self.retry_schedule_s:
            raise ValueError("retry_schedule_s must have at least one step")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'catalog.sqlite3').resolve()}"

    @property
    def resolved_archive_url(self) -> str:
        return self.archive_url or f"file://{(self.data_dir / 'archive').resolve()}"

    @property
    def give_up_after(self) -> timedelta:
        return timedelta(seconds=self.give_up_after_s)

    def production_problems(self) -> list[str]:
        """Why this configuration must not start in production (empty when it may)."""
        if self.env is not Env.PRODUCTION:
            return []
        problems = []
        if not self.portal_url:
            problems.append(
                "DISCLOSURE_PORTAL_URL is not set (the simulator runs only in development)"
            )
        if self.portal_client_secret.get_secret_value().lower() in PLACEHOLDER_SECRETS:
            problems.append("DISCLOSURE_PORTAL_CLIENT_SECRET is empty or a placeholder")
        if self.demo_token is not None:
            problems.append("DISCLOSURE_DEMO_TOKEN is set; demo tokens are for development only")
        for grant in self.tokens:
            secret = grant.token.get_secret_value()
            if secret.startswith(DEMO_TOKEN_PREFIX) or len(secret) < 24:
                problems.append(
                    f"token {grant.name!r} is a demo token or shorter than 24 characters"
                )
        if self.orgs_file is None:
            problems.append(
                "DISCLOSURE_ORGS_FILE is not set; production needs a registry of bodies"
            )
        return problems

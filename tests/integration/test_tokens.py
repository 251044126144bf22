"""Tokens from the catalog: `disclosure tokens create` (a process) issues one, two API
instances that share the catalog accept it, `tokens list` shows it without its secret,
`tokens revoke` ends it at the very next request to either; and a name lives in one
source only. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import build_container, token_admin
from service.configured import ConfigurationError
from service.domain.access import Role
from service.entrypoints.api.app import create_app
from service.settings import Settings
from service.usecases.tokens import token_digest
from tests.support.bodies import NANKAI_OFFICE, write_registry
from tests.support.servers import app_in_thread, base_env, run_command

SETTINGS_TOKEN = "op-7Qk2mZr9Xw4Lp8Vn3Jd6Hs1T"
GRANTS = [{"name": "ops", "token": SETTINGS_TOKEN, "role": "operator", "orgs": ["*"]}]


@pytest.fixture
def values(tmp_path: Path, database_url: str) -> dict[str, Any]:
    return {
        "data_dir": tmp_path / "var",
        "orgs_file": write_registry(tmp_path),
        "database_url": database_url,
        "tokens": GRANTS,
    }


@pytest.fixture
def env(values: dict[str, Any]) -> dict[str, str]:
    return base_env(
        DISCLOSURE_DATA_DIR=str(values["data_dir"]),
        DISCLOSURE_ORGS_FILE=str(values["orgs_file"]),
        DISCLOSURE_DATABASE_URL=values["database_url"],
        DISCLOSURE_TOKENS=json.dumps(values["tokens"]),
    )


@pytest.fixture
def two_apis(values: dict[str, Any]) -> Iterator[list[httpx.Client]]:
    """Two API instances, each with a catalog connection pool of its own, as two
    processes behind a load balancer would be."""
    with ExitStack() as stack:
        clients = []
        for _ in range(2):
            container = build_container(Settings.model_validate(values))
            stack.callback(container.close)
            url = stack.enter_context(app_in_thread(create_app(container.api())))
            clients.append(stack.enter_context(httpx.Client(base_url=url, timeout=30)))
        yield clients


def _get(api: httpx.Client, secret: str) -> httpx.Response:
    return api.get("/v1/filings", headers={"Authorization": f"Bearer {secret}"})


def _create(env: dict[str, str], name: str, *args: str) -> Any:
    return run_command(["tokens", "create", "--name", name, *args], env)


def test_a_created_token_works_everywhere_until_revoked_then_nowhere_at_once(
    env: dict[str, str], two_apis: list[httpx.Client]
) -> None:
    created = _create(env, "auditor", "--role", "compliance", "--org", NANKAI_OFFICE)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()  # stdout holds the secret alone
    assert "不会再次显示" in created.stderr and "will not be shown again" in created.stderr
    assert [_get(api, secret).status_code for api in two_apis] == [200, 200]

    listed = run_command(["tokens", "list", "--json"], env)
    table = run_command(["tokens", "list"], env)
    for output in (listed.stdout, table.stdout):
        assert "auditor" in output
        assert secret not in output and token_digest(secret) not in output
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["ops"]["source"] == "settings"
    assert rows["auditor"]["source"] == "catalog" and rows["auditor"]["role"] == "compliance"
    assert rows["auditor"]["orgs"] == [NANKAI_OFFICE] and rows["auditor"]["last_used_at"]

    revoked = run_command(["tokens", "revoke", "auditor"], env)
    assert revoked.returncode == 0 and "已吊销" in revoked.stdout, revoked.stderr
    refused = _get(two_apis[1], secret)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert _get(two_apis[0], secret).status_code == 401
    assert _get(two_apis[1], SETTINGS_TOKEN).status_code == 200

    again = run_command(["tokens", "revoke", "auditor"], env)
    assert again.returncode == 0 and "早已" in again.stdout and "already revoked" in again.stdout


def test_a_page_session_of_a_revoked_token_ends_in_every_process(values: dict[str, Any]) -> None:
    settings = Settings.model_validate(values)
    with token_admin(settings) as admin:
        issued = admin.issue("auditor", Role.COMPLIANCE, ["*"], by="test")
    pages = build_container(settings)
    try:
        digest = token_digest(issued.secret)
        assert pages.tokens.still_valid("auditor", digest) is not None
        with token_admin(settings) as admin:  # another process's catalog connection
            admin.revoke("auditor", by="test")
        assert pages.tokens.still_valid("auditor", digest) is None
    finally:
        pages.close()


def test_create_and_revoke_are_audited_without_the_secret(
    env: dict[str, str], values: dict[str, Any]
) -> None:
    secret = _create(env, "auditor", "--role", "admin", "--org", "*").stdout.strip()
    assert run_command(["tokens", "revoke", "auditor"], env).returncode == 0
    container = build_container(Settings.model_validate(values))
    try:
        events = container.catalog.audit_events("token/")
    finally:
        container.close()
    assert [(e.action, e.subject, e.role) for e in events] == [
        ("token.created", "token/auditor", "admin"),
        ("token.revoked", "token/auditor", "admin"),
    ]
    assert all(e.actor.startswith("cli") and e.source for e in events)
    said = json.dumps([e.__dict__ for e in events], default=str)
    assert secret not in said and token_digest(secret) not in said


def test_a_name_in_the_settings_or_the_catalog_is_not_given_again(env: dict[str, str]) -> None:
    settings_name = _create(env, "ops", "--role", "admin", "--org", "*")
    assert settings_name.returncode == 2 and settings_name.stdout == ""
    assert "只能属于一处" in settings_name.stderr and "DISCLOSURE_TOKENS" in settings_name.stderr
    assert _create(env, "auditor", "--role", "admin", "--org", "*").returncode == 0
    twice = _create(env, "auditor", "--role", "compliance", "--org", "*")
    assert twice.returncode == 2 and twice.stdout == ""
    assert "已被使用" in twice.stderr and "is taken" in twice.stderr


def test_a_name_in_both_sources_stops_start_up(values: dict[str, Any]) -> None:
    with token_admin(Settings.model_validate({**values, "tokens": []})) as admin:
        admin.issue("ops", Role.ADMIN, ["*"], by="test")
    with pytest.raises(
        ConfigurationError, match="both in DISCLOSURE_TOKENS and in the catalog: ops"
    ):
        build_container(Settings.model_validate(values))


# -- production: its token checks cover both sources ----------------------------------


@pytest.fixture
def production(values: dict[str, Any]) -> dict[str, Any]:
    return {
        **values,
        "env": "production",
        "tokens": [],
        "allow_embedded_storage": True,
        "portal_url": "https://portal.example.gov.cn",
        "portal_client_secret": "a-real-secret-from-the-portal-team",
        "legal_platform_url": "https://legal.example.gov.cn/gw",
        "legal_platform_app_secret": "a-real-secret-from-the-platform-team",
        "session_secret": "k7Qz2mR9xW4pL8vN3jD6hT1cY5bF0gS2",
    }


def _start(values: dict[str, Any], *, serving_api: bool = True) -> None:
    build_container(Settings.model_validate(values), serving_api=serving_api).close()


def test_production_serves_on_catalog_tokens_alone_and_not_on_none(
    production: dict[str, Any],
) -> None:
    with pytest.raises(ConfigurationError, match="no tokens"):
        _start(production)
    _start(production, serving_api=False)  # e.g. rebuild-catalog into an empty catalog
    with token_admin(Settings.model_validate(production)) as admin:
        admin.issue("auditor", Role.COMPLIANCE, ["*"], by="test")
    _start(production)
    with token_admin(Settings.model_validate(production)) as admin:
        admin.revoke("auditor", by="test")
    with pytest.raises(ConfigurationError, match="no tokens"):
        _start(production)


def test_production_refuses_a_settings_secret_that_was_a_catalog_tokens(
    production: dict[str, Any],
) -> None:
    with token_admin(Settings.model_validate(production)) as admin:
        secret = admin.issue("old", Role.ADMIN, ["*"], by="test").secret
        admin.revoke("old", by="test")
    reused = [{"name": "new", "token": secret, "role": "admin", "orgs": ["*"]}]
    with pytest.raises(ConfigurationError) as refused:
        _start({**production, "tokens": reused})
    assert "'new'" in str(refused.value) and "catalog token 'old'" in str(refused.value)
    assert secret not in str(refused.value)

"""Production refuses what development tolerates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.production import CatalogTokens, token_problems
from service.settings import Env, Settings

OPERATOR_TOKEN = "op-7Qk2mZr9Xw4Lp8Vn3Jd6Hs1T"
AUDITOR_TOKEN = "au-5Fy8cBn2Wq7Mx4Kt9Rg3Ze6P"


def _grant(name: str, token: str, role: str = "operator") -> dict[str, object]:
    return {"name": name, "token": token, "role": role, "orgs": ["*"]}


def _production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Env.PRODUCTION,
        "portal_url": "https://portal.example.gov.cn",
        "portal_client_secret": "a-real-secret-from-the-portal-team",
        "legal_platform_url": "https://legal.example.gov.cn/gw",
        "legal_platform_app_secret": "a-real-secret-from-the-platform-team",
        "orgs_file": "orgs.yaml",
        "database_url": "postgresql+psycopg://disclosure@db.example.gov.cn/disclosure",
        "archive_url": "s3://disclosure-archive/prod",
        "s3_endpoint_url": "https://oss.example.gov.cn",
        "session_secret": "Vq3xN8pL2mR7tY5wK9zB4cF6hJ1dG0sA",
        "tokens": [
            _grant("operator", OPERATOR_TOKEN),
            _grant("auditor", AUDITOR_TOKEN, "compliance"),
        ],
    }
    values.update(overrides)
    return Settings.model_validate(values)


def test_a_complete_production_configuration_has_no_problems() -> None:
    assert _production().production_problems() == []


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"portal_url": None}, "DISCLOSURE_PORTAL_URL"),
        ({"legal_platform_url": None}, "DISCLOSURE_LEGAL_PLATFORM_URL"),
        ({"legal_platform_app_secret": "legal-demo-secret"}, "LEGAL_PLATFORM_APP_SECRET"),
        ({"portal_client_secret": "portal-demo-secret"}, "PORTAL_CLIENT_SECRET"),
        ({"demo_token": "demo-abc"}, "DISCLOSURE_DEMO_TOKEN"),
        ({"orgs_file": None}, "DISCLOSURE_ORGS_FILE"),
        (
            {"tokens": [{"name": "x", "token": "demo-short", "role": "operator", "orgs": ["*"]}]},
            "demo token",
        ),
        ({"tsa_url": "https://tsa.example.cn/tsa"}, "DISCLOSURE_TSA_ROOTS_FILE"),
        ({"tsa_roots_file": "/nonexistent/roots.pem"}, "DISCLOSURE_TSA_ROOTS_FILE"),
        (
            {
                "tsa_url": "http://tsa.example.cn/tsa",
                "tsa_password": "pw",
                "tsa_roots_file": __file__,
            },
            "DISCLOSURE_TSA_PASSWORD",
        ),
    ],
    ids=[
        "no portal url",
        "no legal platform url",
        "legal platform placeholder secret",
        "placeholder secret",
        "demo token",
        "no registry",
        "weak token",
        "tsa without roots",
        "tsa roots missing",
        "tsa password over http",
    ],
)
def test_production_names_each_problem(overrides: dict[str, object], mentions: str) -> None:
    problems = _production(**overrides).production_problems()
    assert any(mentions in p for p in problems), problems


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"portal_url": "http://portal.example.gov.cn"}, "the portal URL is http://"),
        ({"legal_platform_url": "ftp://legal.example.gov.cn"}, "the legal_platform URL is ftp://"),
        ({"s3_endpoint_url": "http://oss.example.gov.cn"}, "DISCLOSURE_S3_ENDPOINT_URL is http://"),
        ({"portal_client_secret": "x"}, "PORTAL_CLIENT_SECRET is empty, a placeholder or weak"),
        ({"legal_platform_app_secret": "password"}, "LEGAL_PLATFORM_APP_SECRET"),
        ({"tokens": [_grant("op", "a" * 24)]}, "token 'op' is too easy to guess"),
        (
            {"tokens": [_grant("op", OPERATOR_TOKEN), _grant("admin", OPERATOR_TOKEN, "admin")]},
            "token 'admin' has the same value as another token",
        ),
        (
            {"tokens": [_grant("op", OPERATOR_TOKEN), _grant("op", AUDITOR_TOKEN)]},
            "two tokens are named 'op'",
        ),
        ({"database_url": None}, "the catalog is SQLite"),
        ({"archive_url": None}, "the archive is a directory"),
        ({"session_secret": None}, "DISCLOSURE_SESSION_SECRET is not set"),
        ({"session_secret": "short-but-varied-key-9"}, "DISCLOSURE_SESSION_SECRET is too easy"),
        ({"session_secret": "ab" * 20}, "DISCLOSURE_SESSION_SECRET is too easy"),
    ],
    ids=[
        "http portal", "ftp legal platform", "http s3", "secret x", "secret password",
        "a token of 24 a", "one token value twice", "one token name twice",
        "sqlite", "filesystem archive", "no session key", "a short session key",
        "a session key of two characters",
    ],
)  # fmt: skip
def test_production_refuses_what_would_expose_or_lose_a_bodys_documents(
    overrides: dict[str, object], mentions: str
) -> None:
    problems = _production(**overrides).production_problems()
    assert any(mentions in p for p in problems), problems
    said = " ".join(problems)
    assert OPERATOR_TOKEN not in said and "password" not in said and "a" * 24 not in said


def test_an_admin_may_allow_http_to_a_named_host_and_embedded_storage() -> None:
    settings = _production(
        portal_url="http://portal.intranet",
        allow_http_hosts="portal.intranet, gateway.intranet",
        database_url=None,
        archive_url=None,
        allow_embedded_storage=True,
    )
    assert settings.production_problems() == []


def test_development_tolerates_missing_destinations() -> None:
    assert Settings.model_validate({"env": "development"}).production_problems() == []


def test_tokens_are_read_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    grants = [{"name": "op", "token": "t" * 30, "role": "operator", "orgs": ["111201990000123458"]}]
    monkeypatch.setenv("DISCLOSURE_TOKENS", json.dumps(grants))
    settings = Settings()
    assert settings.tokens[0].role == "operator"
    assert "t" * 30 not in repr(settings)


def test_a_legal_platform_url_is_not_needed_when_nothing_routes_there() -> None:
    routes = {"rule_of_law_report": ["portal"]}
    assert (
        _production(
            legal_platform_url=None, legal_platform_app_secret="", routes=routes
        ).production_problems()
        == []
    )


def test_catalog_tokens_satisfy_no_tokens_and_settings_tokens_too() -> None:
    settings = _production(tokens=[])
    assert settings.production_problems() == []  # the catalog is not open yet
    assert token_problems(settings, CatalogTokens(usable=1), serving_api=True) == []
    assert token_problems(_production(), CatalogTokens(usable=0), serving_api=True) == []


def test_no_token_in_either_source_stops_only_a_process_that_serves_the_api() -> None:
    """A rebuild into an empty catalog must run before any catalog token exists again."""
    settings = _production(tokens=[])
    [problem] = token_problems(settings, CatalogTokens(usable=0), serving_api=True)
    assert "no tokens" in problem and "disclosure tokens create" in problem
    assert token_problems(settings, CatalogTokens(usable=0), serving_api=False) == []


def test_a_settings_secret_that_is_a_catalog_tokens_is_refused_without_quoting_it() -> None:
    catalog = CatalogTokens(usable=1, same_secret={"operator": "old-auditor"})
    [problem] = token_problems(_production(), catalog, serving_api=True)
    assert "'operator'" in problem and "'old-auditor'" in problem
    assert OPERATOR_TOKEN not in problem


def test_development_tolerates_what_production_refuses_of_tokens() -> None:
    settings = Settings.model_validate({"env": "development"})
    catalog = CatalogTokens(usable=0, same_secret={"a": "b"})
    assert token_problems(settings, catalog, serving_api=True) == []


def test_capture_settings_take_hosts_as_a_list_and_default_to_day_1_7_30() -> None:
    from service.captures import capture_hosts
    from service.domain.filing import Destination

    settings = Settings(capture_hosts="www.tj.gov.cn, WWW.Example.gov.cn")  # type: ignore[arg-type]

    assert settings.capture_schedule_days == [1, 7, 30] and settings.capture_grace_s == 86400
    hosts = capture_hosts(settings, {Destination.PORTAL: "http://127.0.0.1:8001/"})
    assert hosts == {"127.0.0.1:8001", "www.tj.gov.cn", "www.example.gov.cn"}


def test_a_tsa_client_certificate_comes_with_its_key_readable_and_over_https(
    tmp_path: Path,
) -> None:
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecret-key-material\n")
    https = {"tsa_url": "https://tsa.example.gov.cn/tsa", "tsa_roots_file": cert}

    both = _production(**https, tsa_client_cert_file=cert, tsa_client_key_file=key)
    alone = _production(**https, tsa_client_cert_file=cert)
    missing = _production(**https, tsa_client_cert_file=cert, tsa_client_key_file=tmp_path / "no")
    plain = _production(tsa_url="http://tsa.example.gov.cn/tsa", tsa_roots_file=cert,
                        tsa_client_cert_file=cert, tsa_client_key_file=key)  # fmt: skip

    assert both.production_problems() == []
    assert any("go together" in p for p in alone.production_problems())
    assert any(
        p == f"DISCLOSURE_TSA_CLIENT_KEY_FILE {tmp_path / 'no'} is not a readable file"
        for p in missing.production_problems()
    )
    assert any("needs an https:// DISCLOSURE_TSA_URL" in p for p in plain.production_problems())
    said = " ".join(alone.production_problems() + missing.production_problems())
    assert "secret-key-material" not in said

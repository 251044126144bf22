"""Production refuses what development tolerates."""

from __future__ import annotations

import json

import pytest

from service.settings import Env, Settings


def _production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Env.PRODUCTION,
        "portal_url": "https://portal.example.gov.cn",
        "portal_client_secret": "a-real-secret-from-the-portal-team",
        "legal_platform_url": "https://legal.example.gov.cn/gw",
        "legal_platform_app_secret": "a-real-secret-from-the-platform-team",
        "orgs_file": "orgs.yaml",
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
    ],
    ids=[
        "no portal url",
        "no legal platform url",
        "legal platform placeholder secret",
        "placeholder secret",
        "demo token",
        "no registry",
        "weak token",
    ],
)
def test_production_names_each_problem(overrides: dict[str, object], mentions: str) -> None:
    problems = _production(**overrides).production_problems()
    assert any(mentions in p for p in problems), problems


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

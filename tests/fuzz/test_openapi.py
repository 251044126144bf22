"""Schemathesis against the service's own OpenAPI document (issue 11): requests generated
from every operation's parameters and bodies, valid and not, with and without a token.
No answer may be a server error, and every answer must be one the document declares —
status, content type, headers and body schema.

Bounded: EXAMPLES per operation and mode, in process (ASGI), so the whole run stays well under
the issue's 120 s on 2 cores."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from service.bootstrap import Container, build_container
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.support.bodies import write_registry
from tests.support.clock import FakeClock

EXAMPLES = 150  # per operation and mode (valid, invalid)
TOKEN = "demo-token-schemathesis"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANSWERS: Counter[int] = Counter()

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.ignored_auth,
    openapi_checks.unsupported_method,
]
# That an invalid request is refused. Not for the multipart bodies: schemathesis mutates one
# branch of an anyOf (a table cell: count | "" | "/" | null) into another branch's valid
# value and then expects a refusal (seen: `"items": 0` called a type violation).
REFUSES_INVALID = openapi_checks.negative_data_rejection
MULTIPART = {"/v1/filings", "/v1/filings/{filing_id}/versions", "/v1/validations"}


@pytest.fixture(scope="module")
def container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    values = {
        "data_dir": root / "var",
        "orgs_file": write_registry(root),
        "demo_token": TOKEN,
        "routes": {"rule_of_law_report": ["portal"]},
    }
    built = build_container(Settings.model_validate(values), clock=FakeClock())
    yield built
    built.close()


OPERATIONS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/v1/filings"),
    ("GET", "/v1/filings"),
    ("POST", "/v1/filings/{filing_id}/versions"),
    ("POST", "/v1/validations"),
    ("GET", "/v1/filings/{filing_id}"),
    ("POST", "/v1/filings/{filing_id}/deliveries/{destination}/retry"),
    ("GET", "/v1/filings/{filing_id}/package"),
    ("POST", "/v1/filings/{filing_id}/verify"),
    ("GET", "/v1/filings/{filing_id}/proof"),
    ("POST", "/v1/filings/{filing_id}/withdraw"),
    ("POST", "/v1/filings/{filing_id}/deliveries/legal_platform/replace-existing"),
    ("PATCH", "/v1/filings/{filing_id}/schedule"),
    ("GET", "/v1/compliance/deadlines"),
    ("POST", "/v1/compliance/exemptions"),
    ("GET", "/v1/audit"),
]


@pytest.fixture(scope="module")
def api_schema(container: Container) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(container.api()))


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    documented = {(op.method.upper(), op.path) for op in _operations(api_schema)}
    assert documented == set(OPERATIONS)


def _operations(api_schema: schemathesis.BaseSchema) -> list[schemathesis.APIOperation]:
    return [result.ok() for result in api_schema.get_all_operations()]


# Invalid requests for every operation that takes input (the probes take none).
RUNS = [(*op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (*op, GenerationMode.NEGATIVE) for op in OPERATIONS if op[1].startswith("/v1/")
]


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_no_server_error_and_no_undocumented_answer(
    api_schema: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = api_schema[path][method]
    checks_for_run = CHECKS if path in MULTIPART else [*CHECKS, REFUSES_INVALID]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exchange(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=AUTH, checks=checks_for_run)
        sent[response.status_code] += 1

    sent: Counter[int] = Counter()
    exchange()
    ANSWERS.update(sent)
    assert sent, "no request was generated"  # an operation without input has one to send


@pytest.fixture(scope="module", autouse=True)
def report_what_was_sent() -> Iterator[None]:
    """The counts of this process's requests go to the CI log (each pytest-xdist worker
    runs some of the operations)."""
    yield
    if ANSWERS:
        print(
            f"\nschemathesis: {sum(ANSWERS.values())} requests; answers by status: "
            f"{dict(sorted(ANSWERS.items()))}"
        )

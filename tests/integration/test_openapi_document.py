"""The OpenAPI document is complete and true (issue 11): an integrator can upload from
Swagger UI with a token, sees every error the service answers with its real schema, gets
the zip as a zip, and the documentation pages load with no Internet (government
intranets). Real answers of a real filing's life are checked against the document."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import schemathesis

from service.bootstrap import Container
from service.entrypoints.api.app import create_app
from tests.support.bodies import sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text

DEMO = "demo-token-openapi-document"
AUTH = {"Authorization": f"Bearer {DEMO}"}
UPLOADS = [
    ("post", "/v1/filings"),
    ("post", "/v1/filings/{filing_id}/versions"),
    ("post", "/v1/validations"),
]


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {"demo_token": DEMO, "routes": {"rule_of_law_report": ["portal"]}}


@pytest.fixture
def document(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_uploads_declare_their_multipart_body(document: dict[str, Any]) -> None:
    for method, path in UPLOADS:
        body = document["paths"][path][method]["requestBody"]
        form = body["content"]["multipart/form-data"]
        properties = form["schema"]["properties"]
        assert form["schema"]["required"] == ["metadata", "file"], path
        assert properties["file"] == properties["file"] | {"type": "string", "format": "binary"}
        assert properties["metadata"]["$ref"] == "#/components/schemas/FilingMetadata"
        assert form["encoding"]["metadata"]["contentType"] == "application/json"
    metadata = document["components"]["schemas"]["FilingMetadata"]
    assert "org_code" in json.dumps(metadata)


def test_every_v1_operation_takes_the_bearer_token(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["token"]["description"],
    }
    for _method, path, operation in _operations(document):
        if path.startswith("/v1/"):
            assert operation["security"] == [{"token": []}], path


def test_every_operation_documents_its_errors_with_the_error_schema(
    document: dict[str, Any],
) -> None:
    envelope = "#/components/schemas/ErrorAnswer"
    for _method, path, operation in _operations(document):
        answers = operation["responses"]
        if not path.startswith("/v1/"):
            continue
        for status in ("400", "401", "404", "500", "503"):
            schema = answers[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": envelope}, (path, status)
    assert "HTTPValidationError" not in json.dumps(document)  # FastAPI's 422, never answered
    for method, path in UPLOADS:
        assert {"408", "409", "413", "422"} <= set(document["paths"][path][method]["responses"])


def test_answers_have_real_schemas_and_the_zip_is_a_zip(document: dict[str, Any]) -> None:
    for _method, path, operation in _operations(document):
        for status, answer in operation["responses"].items():
            for media, content in answer.get("content", {}).items():
                assert content.get("schema"), (path, status, media)
    package = document["paths"]["/v1/filings/{filing_id}/package"]["get"]["responses"]["200"]
    assert list(package["content"]) == ["application/zip"]
    filing = document["paths"]["/v1/filings/{filing_id}"]["get"]["responses"]["200"]
    assert filing["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FilingOut"
    }
    assert document["components"]["schemas"]["FilingOut"]["properties"]["id"]["examples"]


def test_the_documentation_pages_load_nothing_from_outside(api: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        html = api.get(page).text
        external = re.findall(r"""(?:src|href)=["'](https?:)?//""", html)
        assert not external, (page, external)
        assets = re.findall(r"""["'](/docs-assets/[^"']+)["']""", html)
        assert assets, page
        for asset in assets:
            response = api.get(asset)
            assert response.status_code == 200 and len(response.content) > 1000, asset
    assert "fonts.googleapis" not in api.get("/redoc").text


def test_a_filing_s_real_answers_match_the_document(
    container: Container, api: httpx.Client
) -> None:
    """The life of one filing through the API, each answer validated against the
    document (status declared, headers, body schema)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container.api()))
    content = docx_from_text(SAMPLE_PATH.read_text("utf-8"))
    files = {
        "metadata": (None, json.dumps(sample_metadata(), ensure_ascii=False), "application/json"),
        "file": ("报告.docx", content),
    }
    submitted = api.post("/v1/filings", headers=AUTH, files=files)
    assert submitted.status_code == 201, submitted.text
    filing_id = submitted.json()["id"]
    exchanges = [
        ("/v1/filings", "POST", submitted),
        ("/v1/validations", "POST", api.post("/v1/validations", headers=AUTH, files=files)),
        ("/v1/filings/{filing_id}", "GET", api.get(f"/v1/filings/{filing_id}", headers=AUTH)),
        ("/v1/filings", "GET", api.get("/v1/filings", headers=AUTH)),
        (
            "/v1/filings/{filing_id}/verify",
            "POST",
            api.post(f"/v1/filings/{filing_id}/verify", headers=AUTH),
        ),
        (
            "/v1/filings/{filing_id}/package",
            "GET",
            api.get(f"/v1/filings/{filing_id}/package", headers=AUTH),
        ),
        ("/readyz", "GET", api.get("/readyz")),
        (
            "/v1/filings/{filing_id}/schedule",
            "PATCH",
            api.patch(
                f"/v1/filings/{filing_id}/schedule",
                json={"publish_at": "2024-06-01T09:00:00+08:00"},
                headers=AUTH,
            ),
        ),
        (
            "/v1/filings/{filing_id}/withdraw",
            "POST",
            api.post(f"/v1/filings/{filing_id}/withdraw", json={"reason": "误发"}, headers=AUTH),
        ),
        ("/v1/filings/{filing_id}", "GET", api.get(f"/v1/filings/{filing_id}", headers=AUTH)),
    ]
    assert exchanges[-1][2].json()["withdrawal"]["destinations"] == {"portal": "cancelled"}
    for path, method, response in exchanges:
        assert response.status_code < 300, (path, response.text)
        response.request.read()  # the multipart bodies were streamed
        schema[path][method].validate_response(response)


def test_an_error_answer_matches_the_document(container: Container, api: httpx.Client) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(container.api()))
    refused = api.get("/v1/filings", params={"orgcode": "x"}, headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "unknown_parameter"
    assert "orgcode" in refused.json()["error"]["message_zh"]
    schema["/v1/filings"]["GET"].validate_response(refused)

"""The FastAPI application, around the services the composition root hands it."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from service import __version__
from service.domain.metadata import FilingMetadata
from service.entrypoints.api import (
    audit,
    deadlines,
    errors,
    filings,
    health,
    packages,
    proof,
    replacements,
    schedules,
    search,
    withdrawals,
)
from service.entrypoints.api.middleware import BodyLimit, RequestContext
from service.entrypoints.api.services import ApiServices
from service.entrypoints.pages import PageServices
from service.entrypoints.pages import install as install_pages

MULTIPART_OVERHEAD = 1024 * 1024  # the metadata part and multipart framing beside the file
DESCRIPTION = """校验、只写归档并投递政府机关依法应当公开的报送材料。
Validate, archive write-once and deliver what a government body must publish.

Every error answers `{"error": {"code", "message_zh", "message_en", …}}` with the request's
`X-Request-ID`; `code` is stable. 每个错误都带稳定的 code 与中英文说明。"""


def create_app(services: ApiServices, pages: PageServices | None = None) -> FastAPI:
    """The API and the pages. Without `pages` (tests of the API), the pages sign their
    sessions with a key of this process's own."""
    app = FastAPIOffline(
        title="Disclosure service 政府信息公开报送服务",
        version=__version__,
        description=DESCRIPTION,
        static_url="/docs-assets",
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.state.services = services
    errors.install(app)
    app.include_router(health.router)
    app.include_router(filings.router)
    app.include_router(search.router)
    app.include_router(packages.router)
    app.include_router(proof.router)
    app.include_router(withdrawals.router)
    app.include_router(schedules.router)
    app.include_router(replacements.router)
    app.include_router(deadlines.router)
    app.include_router(audit.router)
    install_pages(app, pages or _own_pages(services))
    app.add_middleware(
        BodyLimit,
        max_bytes=services.max_upload_bytes + MULTIPART_OVERHEAD,
        idle_timeout_s=services.body_idle_timeout_s,
    )
    app.add_middleware(RequestContext)
    return app


def _own_pages(services: ApiServices) -> PageServices:
    return PageServices(session_secret=secrets.token_urlsafe(32), signed_out=services.catalog)


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, made true to the service: its routes read the multipart bodies
    themselves (so the metadata schema is added here), and a bad parameter answers 400 in
    the service's envelope, never FastAPI's 422 `HTTPValidationError`."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        _drop_fastapi_422(document)
        _add_metadata_schema(document)
        app.openapi_schema = document
    return app.openapi_schema


def _drop_fastapi_422(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422", {})
            if "HTTPValidationError" in str(answer):
                del operation["responses"]["422"]
    schemas = document.get("components", {}).get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def _add_metadata_schema(document: dict[str, Any]) -> None:
    schema = FilingMetadata.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(schema.pop("$defs", {}))
    schemas["FilingMetadata"] = schema

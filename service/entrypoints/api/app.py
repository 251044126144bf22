"""The FastAPI application, around the services the composition root hands it."""

from __future__ import annotations

from fastapi import FastAPI

from service import __version__
from service.entrypoints.api import errors, filings, health, packages
from service.entrypoints.api.middleware import BodyLimit, RequestContext
from service.entrypoints.api.services import ApiServices

MULTIPART_OVERHEAD = 1024 * 1024  # the metadata part and multipart framing beside the file


def create_app(services: ApiServices) -> FastAPI:
    app = FastAPI(
        title="Disclosure service 政府信息公开报送服务",
        version=__version__,
        description="Validate, archive write-once and deliver what a government body must publish.",
    )
    app.state.services = services
    errors.install(app)
    app.include_router(health.router)
    app.include_router(filings.router)
    app.include_router(packages.router)
    app.add_middleware(
        BodyLimit,
        max_bytes=services.max_upload_bytes + MULTIPART_OVERHEAD,
        idle_timeout_s=services.body_idle_timeout_s,
    )
    app.add_middleware(RequestContext)
    return app

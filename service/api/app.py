"""The FastAPI application, built around a container from the composition root."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from service import __version__
from service.api import errors, filings, health, packages
from service.api.middleware import BodyLimit, RequestContext

if TYPE_CHECKING:
    from service.bootstrap import Container

MULTIPART_OVERHEAD = 1024 * 1024  # the metadata part and multipart framing beside the file


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="Disclosure service 政府信息公开报送服务",
        version=__version__,
        description="Validate, archive write-once and deliver what a government body must publish.",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(health.router)
    app.include_router(filings.router)
    app.include_router(packages.router)
    app.add_middleware(
        BodyLimit, max_bytes=container.settings.max_upload_bytes + MULTIPART_OVERHEAD
    )
    app.add_middleware(RequestContext)
    return app

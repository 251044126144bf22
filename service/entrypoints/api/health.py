"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from service import metrics
from service.domain.errors import ServiceError
from service.entrypoints.api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.api_route("/healthz", methods=["GET", "HEAD"])
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.api_route("/readyz", methods=["GET", "HEAD"])
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict[str, str] = {}
    for name, probe in (("catalog", services.catalog.ping), ("archive", services.store.check)):
        try:
            await run_in_threadpool(probe)
            checks[name] = "ok"
        except ServiceError as exc:
            checks[name] = exc.code
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(services: ServicesDep) -> Response:
    """For Prometheus; no token (bind it to its own port with DISCLOSURE_METRICS_PORT to
    keep it off the API's)."""
    if not services.metrics_on_api:
        return Response(status_code=404)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

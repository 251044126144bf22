"""Liveness and readiness."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service import metrics
from service.domain.errors import ServiceError
from service.entrypoints.api.deps import ServicesDep

router = APIRouter(tags=["health"])


class Alive(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(examples=[{"catalog": "ok", "archive": "archive_unavailable"}])


@router.get("/healthz", summary="存活检查 Liveness", response_model=Alive)
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="就绪检查 Readiness: the catalog and the archive answer",
    response_model=None,
    responses={
        200: {"model": Readiness, "description": "就绪 Ready"},
        503: {"model": Readiness, "description": "未就绪 A check failed"},
    },
)
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


# HEAD for load balancers and uptime checks; the document lists the GETs.
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(services: ServicesDep) -> Response:
    """For Prometheus; no token (bind it to its own port with DISCLOSURE_METRICS_PORT to
    keep it off the API's)."""
    if not services.metrics_on_api:
        return Response(status_code=404)
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

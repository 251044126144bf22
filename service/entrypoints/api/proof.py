"""The route for proof of publication (公开证明): a filing's timestamps and captures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from service.domain.errors import filing_not_found
from service.entrypoints.api.deps import FilingId, KnownQuery, PrincipalDep, ServicesDep
from service.entrypoints.api.documented import READ_ERRORS, ProofOut, ok
from service.entrypoints.api.views import acknowledged
from service.usecases.proof import proof_view

router = APIRouter(prefix="/v1", tags=["archive"], dependencies=[KnownQuery])


@router.get(
    "/filings/{filing_id}/proof",
    summary="公开证明 A filing's trusted timestamps, each verified now, and its captured pages",
    response_model=None,
    responses=ok(ProofOut, "公开证明 The proof of publication", READ_ERRORS),
)
async def get_proof(
    filing_id: FilingId, services: ServicesDep, principal: PrincipalDep
) -> dict[str, Any]:
    found = services.catalog.get_filing(filing_id, with_attempts=False)
    record = acknowledged(found) if found is not None else None
    if record is None or not principal.may_act_for(record.org_code):
        raise filing_not_found()  # another body's filing is as absent as one never filed
    stamps = services.catalog.timestamps(filing_id)
    captures = services.catalog.captures(filing_id)
    return await run_in_threadpool(proof_view, services.proof, stamps, captures)

"""Exemptions (免报): an admin excuses a body, with a reason, from one annual kind of
filing for one period. Not 豁免, which waives a finding (GLOSSARY).

Each exemption is a decision the catalog must be rebuildable from (DESIGN invariant 8),
so it is written first as a write-once JSON object in the archive, then recorded in the
catalog with its audit event:

    decisions/exemptions/{period}/{org_code}/{category}.json
        {"category":…,"created_at":"2024-01-12T01:00:00+00:00","created_by":…,
         "org_code":…,"period":"2023","reason":…}

`rebuild-catalog` reads them back (`read_exemptions`). One exemption per body, kind and
period: a second is `Conflict` (exemption_exists), whether the catalog or the archive
finds it first.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from service.archive.fixity import verifying_reader
from service.archive.port import ArchiveStore
from service.catalog.ports import AuditLog, Deadlines
from service.catalog.records import AuditEvent, Exemption
from service.domain.access import Principal, Role
from service.domain.errors import (
    AlreadyExists,
    ArchiveError,
    InvalidInput,
    NotFound,
    ObjectMissing,
    exemption_exists,
)
from service.domain.filing import Category
from service.domain.org import OrgRegistry

EXEMPTIONS_PREFIX = "decisions/exemptions/"
MEDIA_TYPE = "application/json"
REASON_MIN, REASON_MAX = 2, 500
_YEAR = re.compile(r"[1-9]\d{3}")


class ExemptionCatalog(Deadlines, AuditLog, Protocol):
    """What granting an exemption asks of the catalog."""


@dataclass(frozen=True)
class ExemptionRequest:
    org_code: str
    category: str
    period: str
    reason: str


@dataclass(frozen=True)
class Origin:
    source: str | None = None
    request_id: str | None = None


def exemption_key(exemption: Exemption | ExemptionRequest) -> str:
    return f"{EXEMPTIONS_PREFIX}{exemption.period}/{exemption.org_code}/{exemption.category}.json"


def exemption_document(exemption: Exemption) -> bytes:
    document = {
        "org_code": exemption.org_code,
        "category": exemption.category,
        "period": exemption.period,
        "reason": exemption.reason,
        "created_at": exemption.created_at.astimezone(UTC).isoformat(),
        "created_by": exemption.created_by,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def parse_exemption(data: bytes) -> Exemption:
    """ValueError when `data` is not an exemption document."""
    try:
        document: dict[str, Any] = json.loads(data.decode("utf-8"))
        created_at = datetime.fromisoformat(document["created_at"])
        fields = ("org_code", "category", "period", "reason", "created_by")
        values = {name: str(document[name]) for name in fields}
    except (KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not an exemption: {exc!r}") from None
    if created_at.tzinfo is None:
        raise ValueError("not an exemption: created_at without a zone")
    return Exemption(created_at=created_at, **values)


def grant_exemption(
    catalog: ExemptionCatalog,
    store: ArchiveStore,
    registry: OrgRegistry,
    request: ExemptionRequest,
    *,
    principal: Principal,
    now: datetime,
    origin: Origin = Origin(),
) -> Exemption:
    """Admin only; archived write-once, then recorded and audited in one transaction."""
    principal.require_role(Role.ADMIN)
    principal.require_body(request.org_code)
    _check(registry, request)
    if _recorded(catalog, request):
        raise exemption_exists(request.org_code, request.category, request.period)
    exemption = Exemption(
        org_code=request.org_code,
        category=request.category,
        period=request.period,
        reason=request.reason.strip(),
        created_at=now,
        created_by=principal.name,
    )
    key = exemption_key(exemption)
    try:
        stored = store.put_new(
            key, io.BytesIO(exemption_document(exemption)), content_type=MEDIA_TYPE
        )
    except AlreadyExists:
        raise exemption_exists(request.org_code, request.category, request.period) from None
    catalog.add_exemption(exemption, _event(exemption, principal, origin, key, stored.sha256))
    return exemption


def _recorded(catalog: Deadlines, request: ExemptionRequest) -> bool:
    found = catalog.exemptions(frozenset({request.org_code}), request.period)
    return any(e.category == request.category for e in found)


def _event(
    exemption: Exemption, principal: Principal, origin: Origin, key: str, sha256: str
) -> AuditEvent:
    return AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action="exemption.granted",
        subject=f"exemption/{exemption.org_code}/{exemption.category}/{exemption.period}",
        org_code=exemption.org_code,
        source=origin.source,
        request_id=origin.request_id,
        detail={"reason": exemption.reason, "key": key, "sha256": sha256},
    )


def _check(registry: OrgRegistry, request: ExemptionRequest) -> None:
    if registry.get(request.org_code) is None:
        raise NotFound(
            f"单位名录中没有单位 {request.org_code}",
            f"No body {request.org_code} in the registry of bodies",
            code="body_not_found",
        )
    if request.category not in Category or not Category(request.category).annual:
        raise InvalidInput(
            "免报只适用于年度类别（法治政府建设情况报告、政府信息公开工作年度报告、部门预算/决算）",
            "An exemption is for an annual kind (rule_of_law_report, gov_info_annual_report, budget_final_accounts)",
            code="exemption_kind_invalid",
        )
    if not _YEAR.fullmatch(request.period):
        raise InvalidInput(
            "period 须为年份，如 2023", "period must be a year, e.g. 2023", code="invalid_period"
        )
    if not REASON_MIN <= len(request.reason.strip()) <= REASON_MAX:
        raise InvalidInput(
            f"免报原因须为 {REASON_MIN} 至 {REASON_MAX} 个字符",
            f"The reason must be {REASON_MIN} to {REASON_MAX} characters",
            code="exemption_reason_invalid",
        )


def read_exemptions(store: ArchiveStore) -> Iterator[tuple[str, Exemption | Exception]]:
    """Every archived exemption by key, or why it could not be read (rebuild-catalog)."""
    for key in store.list(EXEMPTIONS_PREFIX):
        if not key.endswith(".json"):
            continue
        try:
            yield key, _read(store, key)
        except (ArchiveError, ValueError, OSError) as exc:
            yield key, exc


def _read(store: ArchiveStore, key: str) -> Exemption:
    stored = store.stat(key)
    if stored is None:
        raise ObjectMissing(key)
    with store.open(key) as raw, verifying_reader(raw, stored.sha256, what=key) as stream:
        return parse_exemption(stream.read())

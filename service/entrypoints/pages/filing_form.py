"""The filing form's fields ↔ the API's metadata (service.domain.metadata): what every
filing carries, its category's own details (only the chosen category's are read, the
others' fieldsets are ignored), the 保密审查 record, publish_at, waivers and a
correction's reason. Rows of leaders, internal units and waivers are numbered fields
(`leader_0_name` …), a fixed number of each, so that the form needs no JavaScript.

    metadata_of(fields, org_name=…)  → FilingMetadata (InvalidInput naming the fields)
    fields_of(metadata)              → the fields that show it again (a correction's form)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from service.domain import errors
from service.domain.metadata import FilingMetadata
from service.domain.time import SHANGHAI, shanghai
from service.entrypoints.api.problems import problems

LEADER_ROWS = 5
UNIT_ROWS = 3
WAIVER_ROWS = 3
LEADER_PARTS = ("name", "post", "duties", "photo")
UNIT_PARTS = ("name", "duties")
WAIVER_PARTS = ("code", "reason")
ENVELOPE = ("org_code", "org_name", "category", "period", "title", "publish_at", "reason")
REVIEW = ("reviewer", "reviewed_on", "review_result")
BUDGET = ("budget_kind", "budget_approved_on")
LIVELIHOOD = ("livelihood_field", "livelihood_major_decision")
ORGANIZATION = ("organization_functions", "organization_address", "organization_hours",
                "organization_phone")  # fmt: skip
ANNUAL_REPORT = ("annual_report_json",)


def _rows(prefix: str, count: int, parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}_{i}_{p}" for i in range(count) for p in parts)


NAMES: frozenset[str] = frozenset(
    ENVELOPE + REVIEW + BUDGET + LIVELIHOOD + ORGANIZATION + ANNUAL_REPORT
    + _rows("leader", LEADER_ROWS, LEADER_PARTS)
    + _rows("unit", UNIT_ROWS, UNIT_PARTS)
    + _rows("waiver", WAIVER_ROWS, WAIVER_PARTS)
)  # fmt: skip


def metadata_of(fields: Mapping[str, str], *, org_name: str) -> FilingMetadata:
    raw = {k: v for k, v in _envelope(fields, org_name).items() if v is not None}
    details = _details(fields)
    if details is not None:
        raw[details[0]] = details[1]
    try:
        return FilingMetadata.model_validate(raw)
    except ValidationError as exc:
        raise errors.InvalidInput(
            "表单填写有误", "The form has invalid fields", code="invalid_metadata",
            detail={"problems": problems(exc.errors())},
        ) from exc  # fmt: skip


def _text(fields: Mapping[str, str], name: str) -> str | None:
    return fields.get(name, "").strip() or None


def _envelope(fields: Mapping[str, str], org_name: str) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "category": fields.get("category", ""),
        "org_code": fields.get("org_code", "").strip(),
        "org_name": org_name,
        "period": fields.get("period", "").strip(),
        "title": _text(fields, "title"),
        "publish_at": publish_at(fields.get("publish_at", "")),
        "reason": _text(fields, "reason"),
        "waivers": _row_dicts(fields, "waiver", WAIVER_ROWS, WAIVER_PARTS),
    }
    review = [fields.get(k, "").strip() for k in REVIEW]
    if any(review):
        raw["review"] = dict(zip(("reviewer", "reviewed_on", "result"), review, strict=True))
    return raw


def _row_dicts(
    fields: Mapping[str, str], prefix: str, count: int, parts: tuple[str, ...]
) -> list[dict[str, str]]:
    """The rows with anything in them, blanks left out (a model names what is missing)."""
    rows = []
    for i in range(count):
        row = {p: v for p in parts if (v := fields.get(f"{prefix}_{i}_{p}", "").strip())}
        if row:
            rows.append(row)
    return rows


def _details(fields: Mapping[str, str]) -> tuple[str, Any] | None:
    """The chosen category's own details; the other categories' fields are ignored."""
    category = fields.get("category", "")
    if category == "budget_final_accounts":
        return "budget", {"kind": _text(fields, "budget_kind"),
                          "approved_on": _text(fields, "budget_approved_on")}  # fmt: skip
    if category == "leadership":
        return "leadership", {"leaders": _row_dicts(fields, "leader", LEADER_ROWS, LEADER_PARTS)}
    if category == "livelihood":
        return "livelihood", {"field": _text(fields, "livelihood_field"),
                              "major_decision": bool(fields.get("livelihood_major_decision"))}  # fmt: skip
    if category == "organization":
        return "organization", _organization(fields)
    if category == "gov_info_annual_report" and _text(fields, "annual_report_json"):
        return "annual_report", _annual_report(fields["annual_report_json"])
    return None


def _organization(fields: Mapping[str, str]) -> dict[str, Any]:
    details: dict[str, Any] = {
        name.removeprefix("organization_"): _text(fields, name) for name in ORGANIZATION
    }
    units = _row_dicts(fields, "unit", UNIT_ROWS, UNIT_PARTS)
    details["units"] = units or None
    return details


def _annual_report(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise errors.InvalidInput(
            "年度报告表格数据不是有效的 JSON",
            "The annual report's tables are not valid JSON",
            code="invalid_metadata",
            detail={"problems": [{"field": "annual_report", "msg_zh": "不是有效的 JSON",
                                  "msg_en": "not valid JSON"}]},
        ) from exc  # fmt: skip


def publish_at(value: str) -> str | None:
    """A browser's datetime-local has no zone: it is Beijing time (Asia/Shanghai)."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # the model names it
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).isoformat()


def local_input(moment: str | None) -> str:
    """An ISO time as a datetime-local input shows it: Beijing time, to the minute."""
    if not moment:
        return ""
    return shanghai(datetime.fromisoformat(moment)).strftime("%Y-%m-%dT%H:%M")


def fields_of(metadata: Mapping[str, Any]) -> dict[str, str]:
    """A version's metadata as the form's fields (a correction starts from the latest)."""
    fields = {k: str(metadata[k]) for k in ENVELOPE if metadata.get(k) and k != "publish_at"}
    fields.pop("reason", None)  # a correction gives its own
    fields["publish_at"] = local_input(metadata.get("publish_at"))
    review = metadata.get("review") or {}
    fields |= {"reviewer": review.get("reviewer", ""), "reviewed_on": review.get("reviewed_on", ""),
               "review_result": review.get("result", "")}  # fmt: skip
    return fields | _detail_fields(metadata)


def _detail_fields(metadata: Mapping[str, Any]) -> dict[str, str]:
    fields: dict[str, str] = {}
    budget = metadata.get("budget") or {}
    fields |= {"budget_kind": budget.get("kind") or "",
               "budget_approved_on": budget.get("approved_on") or ""}  # fmt: skip
    livelihood = metadata.get("livelihood") or {}
    fields["livelihood_field"] = livelihood.get("field") or ""
    fields["livelihood_major_decision"] = "on" if livelihood.get("major_decision") else ""
    organization = metadata.get("organization") or {}
    for name in ORGANIZATION:
        fields[name] = organization.get(name.removeprefix("organization_")) or ""
    leaders = (metadata.get("leadership") or {}).get("leaders") or []
    fields |= _numbered("leader", leaders[:LEADER_ROWS], LEADER_PARTS)
    fields |= _numbered("unit", (organization.get("units") or [])[:UNIT_ROWS], UNIT_PARTS)
    if metadata.get("annual_report"):
        fields["annual_report_json"] = json.dumps(metadata["annual_report"], ensure_ascii=False)
    return fields


def _numbered(prefix: str, rows: list[Mapping[str, Any]], parts: tuple[str, ...]) -> dict[str, str]:
    return {f"{prefix}_{i}_{p}": str(row.get(p) or "") for i, row in enumerate(rows) for p in parts}

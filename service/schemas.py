"""The published JSON Schemas (2020-12): one per category's metadata, the envelope every
filing shares, the metadata the API accepts, and the finding. `disclosure schemas
export` writes them under schemas/; a test fails when the committed files differ from
what the models generate.

    documents()   # {"finding.schema.json": {...}, "metadata.leadership.schema.json": {...}, …}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service.categories import category_specs
from service.domain.findings import Severity
from service.domain.metadata import FilingEnvelope, FilingMetadata

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://disclosure-service.example/schemas/v1/"


class FindingModel(BaseModel):
    """问题/提示: what validation reports about a filing (service.domain.findings.Finding)."""

    model_config = ConfigDict(extra="forbid", title="Finding")

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable code, docs/findings.md")
    severity: Severity
    message_zh: str
    message_en: str
    where: str | None = Field(
        None, description="e.g. 标题, 第12段, 表格2第3行第4列, metadata.period"
    )
    excerpt: str | None = Field(None, description="a short quote; personal data masked")
    waived_by: str | None = Field(None, description="who waived this error (only when waived)")
    waiver_reason: str | None = Field(None, description="the written reason (only when waived)")


def _schema(model: type[BaseModel], name: str, title: str) -> dict[str, Any]:
    body = model.model_json_schema(mode="validation")
    body["title"] = title
    return {"$schema": DIALECT, "$id": f"{BASE_ID}{name}", **body}


def documents() -> dict[str, dict[str, Any]]:
    """File name → schema, in a stable order."""
    out = {
        "filing-envelope.schema.json": _schema(
            FilingEnvelope, "filing-envelope.schema.json", "报送元数据（共有部分）Filing envelope"
        ),
        "filing-metadata.schema.json": _schema(
            FilingMetadata,
            "filing-metadata.schema.json",
            "报送元数据 Filing metadata (any category)",
        ),
        "finding.schema.json": _schema(FindingModel, "finding.schema.json", "问题/提示 Finding"),
    }
    for spec in category_specs():
        name = f"metadata.{spec.category.value}.schema.json"
        title = f"{spec.category.label_zh} {spec.category.value} metadata"
        out[name] = _schema(spec.metadata_model, name, title)
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def export(directory: Path) -> list[Path]:
    """Write every schema under `directory`; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in documents().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale(directory: Path) -> list[str]:
    """The schema files under `directory` that are missing or differ from the models."""
    out = []
    for name, schema in documents().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != render(schema):
            out.append(name)
    return out

"""metadata.json: everything the catalog holds about one filing version, in its package
(DESIGN.md invariant 8), so that the catalog can be rebuilt from the archive alone.
Written at ingest, read by a rebuild: the format has this one home.

    {
      "filing_id": "fil_20240112…", "version": 2, "supersedes": 1,
      "title": "…情况报告", "submitted": {the metadata as submitted: org_code, category, period …},
      "file": {"name": "报告.docx", "kind": "docx", "media_type": "…", "size": 40548, "sha256": "…"},
      "findings": [...], "waivers": [{"code", "reason", "waived_by", "findings"}],
      "destinations": ["portal", "legal_platform"],
      "not_enabled": ["…"],          routed there, but the body has no account there (未开通)
      "archived_at": "2024-01-12T03:04:05+00:00", "archived_by": "operator-wang",
      "service_version": "0.1.0"
    }
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service import __version__


@dataclass(frozen=True)
class FileFacts:
    name: str
    kind: str
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class VersionMetadata:
    filing_id: str
    version: int
    title: str | None
    submitted: dict[str, Any]
    file: FileFacts
    findings: list[dict[str, Any]]
    destinations: tuple[str, ...]
    archived_at: datetime
    archived_by: str
    not_enabled: tuple[str, ...] = ()

    @property
    def supersedes(self) -> int | None:
        return self.version - 1 if self.version > 1 else None

    @property
    def publish_at(self) -> datetime | None:
        value = self.submitted.get("publish_at")
        return aware(value) if value else None

    def to_json(self) -> dict[str, Any]:
        return {
            "filing_id": self.filing_id,
            "version": self.version,
            "supersedes": self.supersedes,
            "title": self.title,
            "submitted": self.submitted,
            "file": {
                "name": self.file.name,
                "kind": self.file.kind,
                "media_type": self.file.media_type,
                "size": self.file.size,
                "sha256": self.file.sha256,
            },
            "findings": self.findings,
            "waivers": waivers_of(self.findings),
            "destinations": list(self.destinations),
            "not_enabled": list(self.not_enabled),
            "archived_at": self.archived_at.isoformat(),
            "archived_by": self.archived_by,
            "service_version": __version__,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VersionMetadata:
        """ValueError, KeyError or TypeError when it is not this format."""
        file = data["file"]
        return cls(
            filing_id=str(data["filing_id"]),
            version=int(data["version"]),
            title=data["title"],
            submitted=dict(data["submitted"]),
            file=FileFacts(
                str(file["name"]),
                str(file["kind"]),
                str(file["media_type"]),
                int(file["size"]),
                str(file["sha256"]),
            ),
            findings=list(data["findings"]),
            destinations=tuple(str(d) for d in data["destinations"]),
            not_enabled=tuple(str(d) for d in data.get("not_enabled", ())),
            archived_at=aware(data["archived_at"]),
            archived_by=str(data["archived_by"]),
        )


def waivers_of(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The waivers applied to a version, from its findings: code, reason, who, how many."""
    waived: dict[tuple[str, str, str], int] = {}
    for f in findings:
        if f.get("waived_by"):
            key = (f["code"], f.get("waiver_reason") or "", f["waived_by"])
            waived[key] = waived.get(key, 0) + 1
    return [
        {"code": code, "reason": reason, "waived_by": by, "findings": count}
        for (code, reason, by), count in waived.items()
    ]


def aware(value: Any) -> datetime:
    """A time as written in the archive: ISO 8601 with its zone (one without is refused)."""
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return moment

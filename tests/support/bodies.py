"""Bodies used across tests: the sample's office (南开区, 120104) and a neighbour."""

from __future__ import annotations

from pathlib import Path

from service.domain.org import uscc_check_character


def uscc(first17: str) -> str:
    return first17 + uscc_check_character(first17)


NANKAI_OFFICE = uscc("11120104MB0000001")
NANKAI_NAME = "天津市南开区合作交流办公室"
OTHER_BODY = uscc("11120104MB0000002")

REGISTRY_YAML = f"""
bodies:
  - org_code: "{NANKAI_OFFICE}"
    name: {NANKAI_NAME}
    aliases: [南开区合作交流办, 南开区合作交流办公室]
    level: department
  - org_code: "{OTHER_BODY}"
    name: 天津市南开区司法局
    aliases: [南开区司法局]
    level: department
"""


def write_registry(directory: Path) -> Path:
    path = directory / "orgs.yaml"
    path.write_text(REGISTRY_YAML, encoding="utf-8")
    return path


def sample_metadata(**overrides: object) -> dict[str, object]:
    metadata: dict[str, object] = {
        "category": "rule_of_law_report",
        "org_code": NANKAI_OFFICE,
        "org_name": "南开区合作交流办",
        "period": "2023",
        "review": {"reviewer": "李明", "reviewed_on": "2024-01-11", "result": "同意公开"},
    }
    metadata.update(overrides)
    return metadata

"""Loading the registry of bodies from YAML (DISCLOSURE_ORGS_FILE).

bodies:
  - org_code: 11120199MB0000001X      # 统一社会信用代码, check character verified
    name: 天津市滨河区合作交流办公室
    aliases: [滨河区合作交流办, 滨河区合作交流办党组]
    level: department                # or district_government
    categories: [rule_of_law_report, leadership]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.domain.filing import Category
from service.domain.org import Level, Organisation, OrgRegistry, is_valid_uscc


class RegistryError(Exception):
    """The registry file is missing or wrong; the message says where."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_code: str
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    level: Level = Level.DEPARTMENT
    categories: list[Category] = Field(default_factory=list)

    @field_validator("org_code")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        if not is_valid_uscc(value):
            raise ValueError(f"{value} is not a valid 统一社会信用代码 (check character)")
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bodies: list[_Body]


def load_registry(path: Path | None) -> OrgRegistry:
    if path is None:
        return OrgRegistry()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(raw)
    except OSError as exc:
        raise RegistryError(f"cannot read the registry of bodies {path}: {exc}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise RegistryError(f"the registry of bodies {path} is invalid: {exc}") from exc
    return OrgRegistry.of(
        Organisation(
            org_code=b.org_code,
            name=b.name,
            aliases=tuple(b.aliases),
            level=b.level,
            categories=tuple(c.value for c in b.categories),
        )
        for b in parsed.bodies
    )

"""Loading the registry of bodies from YAML (DISCLOSURE_ORGS_FILE).

bodies:
  - org_code: 11120199MB0000001X      # 统一社会信用代码, check character verified
    name: 天津市滨河区合作交流办公室
    aliases: [滨河区合作交流办, 滨河区合作交流办党组]
    level: department                # or district_government
    categories: [rule_of_law_report, leadership]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    legal_platform_app_key: str | None = None
    legal_platform_app_secret_env: str | None = None

    @field_validator("org_code")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        if not is_valid_uscc(value):
            raise ValueError(f"{value} is not a valid 统一社会信用代码 (check character)")
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bodies: list[_Body]


def load_registry(path: Path | None, environ: Mapping[str, str] | None = None) -> OrgRegistry:
    environ = os.environ if environ is None else environ
    if path is None:
        return OrgRegistry()
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        parsed = _File.model_validate(raw)
    except OSError as exc:
        raise RegistryError(f"cannot read the registry of bodies {path}: {exc}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise RegistryError(f"the registry of bodies {path} is invalid: {exc}") from exc
    return OrgRegistry.of(_organisation(b, environ) for b in parsed.bodies)


def _organisation(body: _Body, environ: Mapping[str, str]) -> Organisation:
    if (body.legal_platform_app_key is None) != (body.legal_platform_app_secret_env is None):
        raise RegistryError(
            f"{body.org_code}: give both legal_platform_app_key and legal_platform_app_secret_env, or neither"
        )
    secret = None
    if body.legal_platform_app_secret_env is not None:
        secret = environ.get(body.legal_platform_app_secret_env)
        if not secret:
            raise RegistryError(
                f"{body.org_code}: environment variable {body.legal_platform_app_secret_env} "
                "(its legal platform app secret) is not set"
            )
    return Organisation(
        org_code=body.org_code,
        name=body.name,
        aliases=tuple(body.aliases),
        level=body.level,
        categories=tuple(c.value for c in body.categories),
        legal_platform_app_key=body.legal_platform_app_key,
        legal_platform_app_secret=secret,
    )

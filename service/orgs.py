"""Loading the registry of bodies from YAML (DISCLOSURE_ORGS_FILE).

bodies:
  - org_code: 11120199MB0000001X      # 统一社会信用代码, check character verified
    name: 天津市滨河区合作交流办公室
    aliases: [滨河区合作交流办, 滨河区合作交流办党组]
    level: department                # or district_government
    categories: [rule_of_law_report, leadership]
    accounts:                        # the body's own account at a destination, if any
      legal_platform:
        app_key: binhe-hezuo
        app_secret_env: BINHE_HEZUO_LEGAL_SECRET   # a secret is named, never written here
    contacts:                        # told of failed deliveries, returns, deadlines
      - {name: 张三, email: zhangsan@binhe.gov.cn}

Each destination names the fields of such an account (DestinationSpec.account_fields);
a field whose name ends in "secret" is read from the environment variable `<field>_env`
names. A destination may also name options of an account (DestinationSpec.account_options,
e.g. `mass_send: true`): switches, off unless given, held as "true" / "false". `legal_platform_app_key` with `legal_platform_app_secret_env`, the form before
accounts, is still read as the legal platform's account.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from service.domain.filing import Category
from service.domain.notifications import valid_email
from service.domain.org import Contact, Level, Organisation, OrgRegistry, is_valid_uscc

AccountFields = Mapping[str, Sequence[str]]  # by destination, the fields of a body's account


class RegistryError(Exception):
    """The registry file is missing or wrong; the message says where."""


class _Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    email: str

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        return valid_email(value)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_code: str
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    level: Level = Level.DEPARTMENT
    categories: list[Category] = Field(default_factory=list)
    accounts: dict[str, dict[str, str | bool]] = Field(default_factory=dict)
    legal_platform_app_key: str | None = None
    legal_platform_app_secret_env: str | None = None
    contacts: list[_Contact] = Field(default_factory=list)

    @field_validator("org_code")
    @classmethod
    def _valid_uscc(cls, value: str) -> str:
        if not is_valid_uscc(value):
            raise ValueError(f"{value} is not a valid 统一社会信用代码 (check character)")
        return value

    def all_accounts(self) -> dict[str, dict[str, str | bool]]:
        accounts = dict(self.accounts)
        legacy = {
            "app_key": self.legal_platform_app_key,
            "app_secret_env": self.legal_platform_app_secret_env,
        }
        if any(legacy.values()):
            accounts["legal_platform"] = {k: v for k, v in legacy.items() if v is not None}
        return accounts


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bodies: list[_Body]


def load_registry(
    path: Path | None,
    environ: Mapping[str, str] | None = None,
    account_fields: AccountFields | None = None,
    account_options: AccountFields | None = None,
) -> OrgRegistry:
    """`account_fields`: what each destination's account holds (the composition root
    passes every registered destination's); a body's account elsewhere is refused.
    `account_options`: the switches such an account may hold besides, by destination."""
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
    shape = _Shape(account_fields or {}, account_options or {})
    return OrgRegistry.of(_organisation(b, environ, shape) for b in parsed.bodies)


@dataclass(frozen=True)
class _Shape:
    fields: AccountFields
    options: AccountFields


def _organisation(body: _Body, environ: Mapping[str, str], shape: _Shape) -> Organisation:
    accounts = {
        destination: _account(body.org_code, destination, given, shape, environ)
        for destination, given in body.all_accounts().items()
    }
    return Organisation(
        org_code=body.org_code,
        name=body.name,
        aliases=tuple(body.aliases),
        level=body.level,
        categories=tuple(c.value for c in body.categories),
        accounts=accounts,
        contacts=tuple(Contact(c.name, c.email) for c in body.contacts),
    )


def _account(
    org_code: str,
    destination: str,
    given: Mapping[str, str | bool],
    shape: _Shape,
    environ: Mapping[str, str],
) -> dict[str, str]:
    where = f"{org_code}: accounts.{destination}"
    if destination not in shape.fields:
        raise RegistryError(f"{where}: no destination {destination!r} takes a body's account")
    fields, options = shape.fields[destination], shape.options.get(destination, ())
    expected = {_given_as(name) for name in fields}
    if not expected <= set(given) <= expected | set(options):
        also = f" (and optionally {', '.join(options)})" if options else ""
        raise RegistryError(f"{where}: give exactly {', '.join(sorted(expected))}{also}")
    account = {name: _value(where, name, given, environ) for name in fields}
    return account | {name: _option(where, name, given.get(name, False)) for name in options}


def _option(where: str, name: str, value: str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value.lower() in ("true", "false"):
        return value.lower()
    raise RegistryError(f"{where}: {name} is true or false, not {value!r}")


def _given_as(name: str) -> str:
    return f"{name}_env" if name.endswith("secret") else name


def _value(
    where: str, name: str, given: Mapping[str, str | bool], environ: Mapping[str, str]
) -> str:
    if not name.endswith("secret"):
        return str(given[name])
    variable = str(given[f"{name}_env"])
    value = environ.get(variable)
    if not value:
        raise RegistryError(f"{where}: environment variable {variable} ({name}) is not set")
    return value

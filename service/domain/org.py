"""Bodies (organisations) and the 统一社会信用代码 (USCC, GB 32100-2015) check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from stdnum.cn import uscc

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


class Level(StrEnum):
    DEPARTMENT = "department"
    DISTRICT_GOVERNMENT = "district_government"


def uscc_check_character(first17: str) -> str:
    """The 18th character for the first 17 (ValueError if a character is not allowed)."""
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"not 17 characters of the USCC alphabet: {first17!r}")
    return uscc.calc_check_digit(first17)


def is_valid_uscc(code: str) -> bool:
    """18 characters of the alphabet, the last python-stdnum's check character for the rest.

    Not `stdnum.cn.uscc.is_valid`: it upper-cases the code and drops spaces and dashes
    first (a filing's code must be written exactly), and it wants positions 1–8 to be
    digits, while GB 32100 also has Y (其他), A and N as the 登记管理部门."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc.calc_check_digit(code[:17]) == code[17]


@dataclass(frozen=True)
class Contact:
    """Someone at a body who is told of its failures, returns and deadlines."""

    name: str
    email: str


@dataclass(frozen=True)
class Organisation:
    """A government body: its USCC, full name, aliases (short names, its 党组), level,
    and its own accounts at destinations (by destination: the fields its spec names,
    e.g. the legal platform's app_key and app_secret), where it has one."""

    org_code: str
    name: str
    aliases: tuple[str, ...] = ()
    level: Level = Level.DEPARTMENT
    categories: tuple[str, ...] = ()
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    contacts: tuple[Contact, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass
class OrgRegistry:
    """The bodies known to this installation, by org_code."""

    bodies: dict[str, Organisation] = field(default_factory=dict)

    @classmethod
    def of(cls, bodies: Iterable[Organisation]) -> OrgRegistry:
        return cls({b.org_code: b for b in bodies})

    def get(self, org_code: str) -> Organisation | None:
        return self.bodies.get(org_code)

    def __len__(self) -> int:
        return len(self.bodies)

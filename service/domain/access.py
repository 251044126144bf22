"""Who may do what: a principal carries a role and the bodies it may act for."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from service.domain.errors import Forbidden


class Role(StrEnum):
    OPERATOR = "operator"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


ALL_BODIES = "*"


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    orgs: frozenset[str]

    @property
    def all_bodies(self) -> bool:
        return ALL_BODIES in self.orgs

    def may_act_for(self, org_code: str) -> bool:
        return self.all_bodies or org_code in self.orgs

    def require_body(self, org_code: str) -> None:
        if not self.may_act_for(org_code):
            raise Forbidden(
                f"此令牌无权代表单位 {org_code} 操作",
                f"This token may not act for body {org_code}",
                code="forbidden_body",
            )

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden(
                f"角色“{self.role.value}”无权执行此操作",
                f"The role {self.role.value!r} may not do this",
                code="forbidden_role",
            )

    def visible_bodies(self) -> frozenset[str] | None:
        """The bodies whose filings this principal may see; None means every body."""
        return None if self.all_bodies else self.orgs

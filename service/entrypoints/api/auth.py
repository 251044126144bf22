"""Bearer tokens: each carries a role and the bodies it may act for."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.access import Principal
from service.domain.errors import Unauthenticated


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRegistry:
    """Principals by the SHA-256 of their token: the secrets themselves are not kept around."""

    principals: dict[str, Principal]

    @classmethod
    def of(cls, grants: Iterable[tuple[str, Principal]]) -> TokenRegistry:
        return cls({_digest(token): principal for token, principal in grants})

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        principal = (
            self.principals.get(_digest(token.strip())) if scheme.lower() == "bearer" else None
        )
        if principal is None:
            raise Unauthenticated()
        return principal

"""Bearer tokens: each carries a role and the bodies it may act for."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from service.domain.access import Principal
from service.domain.errors import Unauthenticated


def token_digest(token: str) -> str:
    """The SHA-256 a token is known by: what the registry keys on and a page session keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenRegistry:
    """Principals by the SHA-256 of their token: the secrets themselves are not kept around."""

    principals: dict[str, Principal]

    @classmethod
    def of(cls, grants: Iterable[tuple[str, Principal]]) -> TokenRegistry:
        return cls({token_digest(token): principal for token, principal in grants})

    def authenticate(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        principal = (
            self.principals.get(token_digest(token.strip())) if scheme.lower() == "bearer" else None
        )
        if principal is None:
            raise Unauthenticated()
        return principal

    def authenticate_digest(self, name: str, digest: str) -> Principal:
        """The principal of a page session, which keeps the token's name and digest, never
        the token: refused once that token no longer authenticates (revoked, renamed)."""
        principal = self.principals.get(digest)
        if principal is None or principal.name != name:
            raise Unauthenticated()
        return principal

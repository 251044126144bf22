"""Bearer tokens on the API: the secret read from the Authorization header, and who it
speaks for asked of the authenticator (service.usecases.tokens) on every request."""

from __future__ import annotations

from service.domain.access import Principal
from service.usecases.tokens import Authenticator


def bearer_secret(authorization: str | None) -> str:
    """The token in `Authorization: Bearer TOKEN`; empty when there is none."""
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def authenticate(authenticator: Authenticator, authorization: str | None) -> Principal:
    return authenticator.authenticate(bearer_secret(authorization))

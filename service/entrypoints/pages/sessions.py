"""The pages' session: a signed cookie that names the token (its name and SHA-256, never
the token itself), carries the session's CSRF token and when it was last used.

    cookie  = itsdangerous(HMAC-SHA256, DISCLOSURE_SESSION_SECRET) over
              {"name", "digest", "csrf", "seen", "sid"}  ("name" empty: not signed in)

Every page read re-authenticates the digest (a revoked token ends its sessions at once)
and ends a session idle longer than DISCLOSURE_SESSION_IDLE_S; every answer re-signs the
cookie with the new `seen`. The server keeps one thing: the ids (`sid`) of the sessions
signed out, for the idle time, so that signing out ends every copy of the cookie too."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "disclosure_session"
SALT = "disclosure.pages.session"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class PageSession:
    csrf: str
    seen: float  # the service clock's timestamp of the last request
    name: str = ""  # the token's name; empty before sign-in
    digest: str = ""  # the token's SHA-256
    sid: str = ""  # the session's own id, made at sign-in

    @property
    def signed_in(self) -> bool:
        return bool(self.name and self.digest and self.sid)

    def idle(self, now: datetime, idle_s: float) -> bool:
        return now.timestamp() - self.seen > idle_s

    def touched(self, now: datetime) -> PageSession:
        return replace(self, seen=now.timestamp())

    def csrf_matches(self, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given, self.csrf)


def anonymous(now: datetime) -> PageSession:
    return PageSession(csrf=secrets.token_urlsafe(32), seen=now.timestamp())


def signed_in(name: str, digest: str, now: datetime) -> PageSession:
    """A fresh session, with a new CSRF token: none made before sign-in is carried over."""
    return PageSession(
        secrets.token_urlsafe(32), now.timestamp(), name, digest, secrets.token_urlsafe(24)
    )


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)

    def read(self, request: Request) -> PageSession | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw)
        except BadSignature:
            return None
        return _session(data)

    def write(self, response: Response, session: PageSession, request: Request) -> None:
        response.set_cookie(
            COOKIE,
            self._serializer.dumps(
                {
                    "name": session.name,
                    "digest": session.digest,
                    "csrf": session.csrf,
                    "seen": session.seen,
                    "sid": session.sid,
                }
            ),
            httponly=True,
            samesite="strict",
            secure=_over_https(request),
            path="/",
        )

    @staticmethod
    def clear(response: Response, request: Request) -> None:
        response.delete_cookie(
            COOKIE, path="/", httponly=True, samesite="strict", secure=_over_https(request)
        )


def _session(data: Any) -> PageSession | None:
    if not isinstance(data, dict):
        return None
    try:
        return PageSession(
            csrf=str(data["csrf"]),
            seen=float(data["seen"]),
            name=str(data.get("name", "")),
            digest=str(data.get("digest", "")),
            sid=str(data.get("sid", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _over_https(request: Request) -> bool:
    """As the server saw it (behind a TLS proxy: with uvicorn's proxy headers trusted)."""
    return request.scope.get("scheme") == "https"

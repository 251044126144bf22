"""Bearer tokens: who a secret speaks for, and the catalog's tokens issued and revoked.

A token comes from one of two sources, and a name lives in one only:

    DISCLOSURE_TOKENS (and the demo token)   read at start-up, held in memory by digest
    the catalog (`disclosure tokens …`)      asked on every request, never cached, so a
                                             token revoked by any process is refused by
                                             every API process at its next request

    authenticator.authenticate(secret)          → Principal, or Unauthenticated
    authenticator.still_valid(name, digest)     → Principal | None: a page session, which
                                                  keeps its token's name and digest (never
                                                  the secret), asks on every request and
                                                  ends when the answer is None
    admin.issue(name, role, orgs, by=…)         → Issued: the secret, shown once
    admin.revoke(name, by=…)                    → the token, and whether this revoked it

Why a plain SHA-256 of the secret, not a password hash (bcrypt, scrypt, Argon2): a
catalog token's secret is 256 random bits from `secrets`, so no hash of it can be
reversed or its secret guessed, however fast the hash. A slow, salted hash protects
low-entropy passwords; here it would cost tens of milliseconds a request and rule out
finding the token by its digest (an index lookup), since every token's salt would
have to be tried in turn.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from service.catalog.ports import Tokens
from service.catalog.records import AuditEvent, NewToken, TokenRecord
from service.domain.access import ALL_BODIES, Principal, Role
from service.domain.errors import Conflict, InvalidInput, Unauthenticated, Unavailable
from service.domain.org import is_valid_uscc

log = structlog.get_logger()

SECRET_PREFIX = "dsc_"  # makes a leaked secret recognisable (secret scanners, a log line)
SECRET_BYTES = 32
NAME_PATTERN = re.compile(r"^[\w.@-]{1,64}$")  # \w: Chinese names too
# A token's last use is written at most this often: a write a minute, not one a request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(secret: str) -> str:
    """The SHA-256 (hex) by which a token is kept and found."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


@dataclass(frozen=True)
class Authenticator:
    """`Authenticator.of(grants, catalog, clock)`: the configured tokens' principals by
    digest, and the catalog asked for the rest."""

    configured: Mapping[str, Principal]
    catalog: Tokens
    clock: Callable[[], datetime]

    @classmethod
    def of(
        cls, grants: Iterable[tuple[str, Principal]], catalog: Tokens, clock: Callable[[], datetime]
    ) -> Authenticator:
        return cls({token_digest(secret): p for secret, p in grants}, catalog, clock)

    def authenticate(self, secret: str) -> Principal:
        principal = self.principal_of(token_digest(secret)) if secret else None
        if principal is None:
            raise Unauthenticated()
        return principal

    def still_valid(self, name: str, digest: str) -> Principal | None:
        """The principal of the token with this digest, if it still is `name`'s and not
        revoked (nor gone from DISCLOSURE_TOKENS since a restart)."""
        principal = self.principal_of(digest)
        return principal if principal is not None and principal.name == name else None

    def principal_of(self, digest: str) -> Principal | None:
        """Configured tokens from memory; a catalog token by one indexed lookup."""
        configured = self.configured.get(digest)
        if configured is not None:
            return configured
        record = self.catalog.find_token(digest)
        if record is None or record.revoked:
            return None
        self._note_use(record)
        return Principal(record.name, record.role, record.orgs)

    def _note_use(self, record: TokenRecord) -> None:
        now = self.clock()
        if record.last_used_at is not None and now - record.last_used_at < LAST_USED_RESOLUTION:
            return
        try:
            self.catalog.note_token_use(record.name, now)
        except Unavailable:  # bookkeeping: the request it was found for still goes on
            log.warning("token_use_not_noted", token=record.name)


@dataclass(frozen=True)
class Issued:
    secret: str  # shown to the person who asked, once; never kept, logged or audited
    token: TokenRecord


@dataclass(frozen=True)
class TokenAdmin:
    """Issuing, revoking and listing the catalog's tokens (`disclosure tokens`). `configured`:
    the names DISCLOSURE_TOKENS (and the demo token) hold, which the catalog may not."""

    catalog: Tokens
    configured: Collection[str]

    def issue(
        self, name: str, role: Role, orgs: Iterable[str], *, by: str, source: str | None = None
    ) -> Issued:
        bodies = _bodies(orgs)
        self._refuse_configured(_checked_name(name))
        secret = new_secret()
        event = _event("token.created", name, by, source, role=role.value, orgs=sorted(bodies))
        record = self.catalog.create_token(
            NewToken(name, role, bodies, token_digest(secret)), event
        )
        return Issued(secret, record)

    def revoke(self, name: str, *, by: str, source: str | None = None) -> tuple[TokenRecord, bool]:
        """The token and whether this call revoked it (False: it already was)."""
        if name in self.configured:
            raise InvalidInput(
                f"令牌“{name}”来自配置 DISCLOSURE_TOKENS：请从该配置中删除它，然后重启服务",
                f"The token {name!r} is in DISCLOSURE_TOKENS: remove it there and restart",
                code="token_configured",
            )
        return self.catalog.revoke_token(name, _event("token.revoked", name, by, source))

    def list_tokens(self) -> list[TokenRecord]:
        return self.catalog.list_tokens()

    def _refuse_configured(self, name: str) -> None:
        if name in self.configured:
            raise Conflict(
                f"名称“{name}”已用于配置中的令牌（DISCLOSURE_TOKENS 或演示令牌）；一个名称只能属于一处",
                f"The name {name!r} is a configured token's (DISCLOSURE_TOKENS or the demo "
                "token); a name lives in one source only",
                code="token_name_taken",
            )


def name_clashes(configured: Collection[str], catalog: Tokens) -> list[str]:
    """Names both configured and in the catalog (revoked tokens' too): which token an
    audit event's actor meant could not be told."""
    return sorted(t.name for t in catalog.list_tokens() if t.name in configured)


def _checked_name(name: str) -> str:
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            "令牌名称应为 1–64 个字母、汉字、数字或 . _ - @",
            "A token name is 1–64 letters, digits or . _ - @",
            code="invalid_token_name",
        )
    return name


def _bodies(orgs: Iterable[str]) -> frozenset[str]:
    """The org codes a token may act for ('*': all); at least one, each a valid USCC."""
    bodies = frozenset(o.strip().upper() for o in orgs)
    if ALL_BODIES in bodies:
        return frozenset({ALL_BODIES})
    if not bodies:
        raise InvalidInput(
            "请用 --org 给出此令牌可代表的单位（统一社会信用代码，可重复；'*' 为全部单位）",
            "Give the bodies this token may act for with --org (a USCC, repeatable; '*' for all)",
            code="invalid_token_bodies",
        )
    wrong = sorted(o for o in bodies if not is_valid_uscc(o))
    if wrong:
        raise InvalidInput(
            f"不是有效的统一社会信用代码：{'、'.join(wrong)}",
            f"Not a valid USCC: {', '.join(wrong)}",
            code="invalid_token_bodies",
        )
    return bodies


def _event(action: str, name: str, by: str, source: str | None, **detail: object) -> AuditEvent:
    """Never the secret nor its digest."""
    return AuditEvent(
        actor=by, role=Role.ADMIN.value, action=action, subject=f"token/{name}",
        source=source, detail=dict(detail),
    )  # fmt: skip

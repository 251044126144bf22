"""The catalog's tokens in memory (service.catalog.ports.Tokens), mixed into
MemoryCatalog: its lock, clock and audit log."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from service.catalog.records import AuditEvent, NewToken, TokenRecord
from service.domain.errors import token_name_taken, token_not_found


class MemoryTokens:
    _clock: Callable[[], datetime]
    _transaction: Callable[[], AbstractContextManager[None]]
    _audit: Callable[[AuditEvent, datetime], None]

    def __init__(self) -> None:
        self.tokens: dict[str, TokenRecord] = {}
        self.token_digests: dict[str, str] = {}  # the secret's SHA-256 → name

    def create_token(self, token: NewToken, event: AuditEvent) -> TokenRecord:
        now = self._clock()
        with self._transaction():
            if token.name in self.tokens or token.secret_sha256 in self.token_digests:
                raise token_name_taken(token.name)
            record = TokenRecord(token.name, token.role, frozenset(token.orgs), now, event.actor)
            self.tokens[token.name] = record
            self.token_digests[token.secret_sha256] = token.name
            self._audit(event, now)
            return record

    def revoke_token(self, name: str, event: AuditEvent) -> tuple[TokenRecord, bool]:
        now = self._clock()
        with self._transaction():
            record = self.tokens.get(name)
            if record is None:
                raise token_not_found(name)
            if record.revoked:
                return record, False
            record = dataclasses.replace(record, revoked_at=now, revoked_by=event.actor)
            self.tokens[name] = record
            self._audit(event, now)
            return record, True

    def list_tokens(self) -> list[TokenRecord]:
        with self._transaction():
            return sorted(self.tokens.values(), key=lambda t: (t.created_at, t.name))

    def find_token(self, secret_sha256: str) -> TokenRecord | None:
        with self._transaction():
            name = self.token_digests.get(secret_sha256)
            return None if name is None else self.tokens[name]

    def note_token_use(self, name: str, at: datetime) -> None:
        with self._transaction():
            record = self.tokens.get(name)
            if record is not None and (record.last_used_at is None or record.last_used_at < at):
                self.tokens[name] = dataclasses.replace(record, last_used_at=at)

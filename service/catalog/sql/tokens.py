"""Bearer tokens on SQL: kept by the SHA-256 of their secret, found by it on every request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.catalog.records import AuditEvent, NewToken, TokenRecord
from service.catalog.sql.tables import EndedPageSessionRow, TokenRow
from service.catalog.sql.unit import UnitOfWork, audit_row
from service.domain.access import Role
from service.domain.errors import token_name_taken, token_not_found


class SqlTokens(UnitOfWork):
    def create_token(self, token: NewToken, event: AuditEvent) -> TokenRecord:
        now = self._clock()
        row = TokenRow(
            name=token.name,
            secret_sha256=token.secret_sha256,
            role=token.role.value,
            orgs=sorted(token.orgs),
            created_at=now,
            created_by=event.actor,
        )
        try:
            with self._transaction() as session:
                if session.get(TokenRow, token.name) is not None:
                    raise token_name_taken(token.name)
                session.add_all([row, audit_row(event, now)])
        except IntegrityError as exc:  # the same name created at the same moment elsewhere
            raise token_name_taken(token.name) from exc
        return token_record(row)

    def revoke_token(self, name: str, event: AuditEvent) -> tuple[TokenRecord, bool]:
        now = self._clock()
        with self._transaction() as session:
            row = session.get(TokenRow, name, with_for_update=True)
            if row is None:
                raise token_not_found(name)
            if row.revoked_at is not None:
                return token_record(row), False
            row.revoked_at, row.revoked_by = now, event.actor
            session.add(audit_row(event, now))
            return token_record(row), True

    def list_tokens(self) -> list[TokenRecord]:
        with self._transaction() as session:
            rows = session.scalars(select(TokenRow).order_by(TokenRow.created_at, TokenRow.name))
            return [token_record(r) for r in rows]

    def find_token(self, secret_sha256: str) -> TokenRecord | None:
        # Asked on every request: columns, not ORM entities (~40 % less time on SQLite).
        with self._transaction() as session:
            row = session.execute(
                select(*_RECORD_COLUMNS).where(TokenRow.secret_sha256 == secret_sha256)
            ).first()
            return None if row is None else token_record(row)

    def note_token_use(self, name: str, at: datetime) -> None:
        with self._transaction() as session:
            session.execute(
                update(TokenRow)
                .where(TokenRow.name == name)
                .where(or_(TokenRow.last_used_at.is_(None), TokenRow.last_used_at < at))
                .values(last_used_at=at)
            )

    def end_page_session(self, session_id: str, event: AuditEvent, forget_before: datetime) -> None:
        now = self._clock()
        with self._transaction() as session:
            session.execute(
                delete(EndedPageSessionRow).where(EndedPageSessionRow.ended_at < forget_before)
            )
            if session.get(EndedPageSessionRow, session_id) is None:
                session.add(EndedPageSessionRow(session_id=session_id, ended_at=now))
            session.add(audit_row(event, now))

    def page_session_ended(self, session_id: str) -> bool:
        with self._transaction() as session:
            return session.get(EndedPageSessionRow, session_id) is not None


_RECORD_COLUMNS = (
    TokenRow.name, TokenRow.role, TokenRow.orgs, TokenRow.created_at, TokenRow.created_by,
    TokenRow.last_used_at, TokenRow.revoked_at, TokenRow.revoked_by,
)  # fmt: skip


def token_record(row: TokenRow | Row[Any]) -> TokenRecord:
    """From a TokenRow or a row of `_RECORD_COLUMNS`: never the secret's hash."""
    return TokenRecord(
        name=row.name,
        role=Role(row.role),
        orgs=frozenset(row.orgs),
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )

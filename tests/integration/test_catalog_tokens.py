"""The catalog's Tokens port: the same contract on SQLite, on PostgreSQL and in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, NewToken, TokenRecord
from service.catalog.sql import SqlCatalog
from service.domain.access import Role
from service.domain.errors import Conflict, NotFound
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.support.clock import FakeClock

ORG = "111201990000123458"
DIGEST = "d1" * 32


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


def _event(action: str, name: str = "auditor") -> AuditEvent:
    return AuditEvent(actor="cli:root", role="admin", action=action, subject=f"token/{name}")


def _create(
    catalog: Catalog, name: str = "auditor", digest: str = DIGEST, role: Role = Role.COMPLIANCE
) -> TokenRecord:
    token = NewToken(name, role, frozenset({ORG}), digest)
    return catalog.create_token(token, _event("token.created", name))


def test_a_created_token_is_found_by_its_digest_with_its_grants(
    catalog: Catalog, clock: FakeClock
) -> None:
    created = _create(catalog)
    found = catalog.find_token(DIGEST)
    assert found == created
    assert (found.name, found.role, found.orgs) == ("auditor", Role.COMPLIANCE, frozenset({ORG}))
    assert (found.created_at, found.created_by, found.revoked_at) == (clock.now, "cli:root", None)
    assert catalog.find_token("e2" * 32) is None


def test_a_token_record_never_carries_its_secret_or_hash(catalog: Catalog) -> None:
    _create(catalog)
    [listed] = catalog.list_tokens()
    values = [str(getattr(listed, f.name)) for f in fields(listed)]
    assert not any(DIGEST in v for v in values)


def test_a_name_is_taken_once_even_after_its_token_is_revoked(catalog: Catalog) -> None:
    _create(catalog)
    with pytest.raises(Conflict) as taken:
        _create(catalog, digest="e2" * 32)
    assert taken.value.code == "token_name_taken"
    catalog.revoke_token("auditor", _event("token.revoked"))
    with pytest.raises(Conflict):
        _create(catalog, digest="e2" * 32)
    assert [t.name for t in catalog.list_tokens()] == ["auditor"]


def test_revoking_is_at_once_and_idempotent_and_audited_once(
    catalog: Catalog, clock: FakeClock
) -> None:
    _create(catalog)
    revoked, now = catalog.revoke_token("auditor", _event("token.revoked"))
    assert now and revoked.revoked_at == clock.now and revoked.revoked_by == "cli:root"
    assert catalog.find_token(DIGEST) == revoked  # found, and seen to be revoked
    clock.advance(60)
    again, now = catalog.revoke_token("auditor", _event("token.revoked"))
    assert not now and again == revoked
    actions = [e.action for e in catalog.audit_events("token/")]
    assert actions == ["token.created", "token.revoked"]


def test_revoking_an_unknown_name_is_not_found_and_audits_nothing(catalog: Catalog) -> None:
    with pytest.raises(NotFound) as missing:
        catalog.revoke_token("nobody", _event("token.revoked", "nobody"))
    assert missing.value.code == "token_not_found"
    assert catalog.audit_events("token/") == []


def test_tokens_are_listed_oldest_first_revoked_ones_included(
    catalog: Catalog, clock: FakeClock
) -> None:
    _create(catalog, "b-first")
    clock.advance(1)
    _create(catalog, "a-second", digest="e2" * 32, role=Role.ADMIN)
    catalog.revoke_token("b-first", _event("token.revoked", "b-first"))
    listed = catalog.list_tokens()
    assert [(t.name, t.revoked) for t in listed] == [("b-first", True), ("a-second", False)]


def test_a_last_use_is_noted_and_never_moves_back(catalog: Catalog, clock: FakeClock) -> None:
    _create(catalog)
    used = clock.now + timedelta(minutes=5)
    catalog.note_token_use("auditor", used)
    catalog.note_token_use("auditor", used - timedelta(minutes=1))
    found = catalog.find_token(DIGEST)
    assert found is not None and found.last_used_at == used

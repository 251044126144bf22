"""Tokens: who a secret speaks for, from the settings or the catalog, and issuing and
revoking the catalog's tokens (service.usecases.tokens), on the in-memory catalog."""

from __future__ import annotations

import json

import pytest

from service.domain.access import Principal, Role
from service.domain.errors import Conflict, InvalidInput, Unauthenticated
from service.settings import is_weak_secret
from service.usecases.tokens import (
    SECRET_PREFIX,
    Authenticator,
    TokenAdmin,
    name_clashes,
    token_digest,
)
from tests.fakes import MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY
from tests.support.clock import FakeClock

CONFIGURED = "op-7Qk2mZr9Xw4Lp8Vn3Jd6Hs1T"
OPERATOR = Principal("ops", Role.OPERATOR, frozenset({"*"}))
WRONG_CHECK = NANKAI_OFFICE[:-1] + ("1" if NANKAI_OFFICE[-1] == "0" else "0")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def authenticator(catalog: MemoryCatalog, clock: FakeClock) -> Authenticator:
    return Authenticator.of([(CONFIGURED, OPERATOR)], catalog, clock)


@pytest.fixture
def admin(catalog: MemoryCatalog) -> TokenAdmin:
    return TokenAdmin(catalog, frozenset({"ops", "demo-operator"}))


def test_an_issued_secret_speaks_for_its_name_role_and_bodies(
    admin: TokenAdmin, authenticator: Authenticator
) -> None:
    issued = admin.issue("auditor", Role.COMPLIANCE, [NANKAI_OFFICE, OTHER_BODY], by="cli:root")
    principal = authenticator.authenticate(issued.secret)
    assert principal == Principal(
        "auditor", Role.COMPLIANCE, frozenset({NANKAI_OFFICE, OTHER_BODY})
    )


def test_a_revoked_token_is_refused_at_its_very_next_use(
    admin: TokenAdmin, authenticator: Authenticator
) -> None:
    issued = admin.issue("auditor", Role.COMPLIANCE, ["*"], by="cli:root")
    authenticator.authenticate(issued.secret)
    admin.revoke("auditor", by="cli:root")
    with pytest.raises(Unauthenticated):
        authenticator.authenticate(issued.secret)


def test_configured_tokens_need_no_catalog_and_unknown_ones_are_refused(
    catalog: MemoryCatalog, authenticator: Authenticator
) -> None:
    catalog.available = False
    assert authenticator.authenticate(CONFIGURED) == OPERATOR
    with pytest.raises(Unauthenticated):
        authenticator.authenticate("")  # never asks the catalog
    catalog.available = True
    with pytest.raises(Unauthenticated):
        authenticator.authenticate("dsc_not-a-token-anyone-was-given")


def test_a_page_session_stays_valid_until_its_token_is_revoked(
    admin: TokenAdmin, authenticator: Authenticator
) -> None:
    issued = admin.issue("auditor", Role.COMPLIANCE, ["*"], by="cli:root")
    digest = token_digest(issued.secret)
    assert authenticator.still_valid("auditor", digest) == authenticator.authenticate(issued.secret)
    assert authenticator.still_valid("someone-else", digest) is None
    assert authenticator.still_valid("ops", token_digest(CONFIGURED)) == OPERATOR
    admin.revoke("auditor", by="cli:root")
    assert authenticator.still_valid("auditor", digest) is None


def test_a_last_use_is_written_at_most_once_a_minute(
    admin: TokenAdmin, authenticator: Authenticator, catalog: MemoryCatalog, clock: FakeClock
) -> None:
    issued = admin.issue("auditor", Role.COMPLIANCE, ["*"], by="cli:root")
    first = clock.now
    authenticator.authenticate(issued.secret)
    clock.advance(59)
    authenticator.authenticate(issued.secret)
    assert catalog.tokens["auditor"].last_used_at == first
    clock.advance(1)
    authenticator.authenticate(issued.secret)
    assert catalog.tokens["auditor"].last_used_at == clock.now


def test_secrets_are_strong_distinct_and_recognisable(admin: TokenAdmin) -> None:
    secrets = {admin.issue(f"t{n}", Role.OPERATOR, ["*"], by="cli").secret for n in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith(SECRET_PREFIX) and len(secret) >= 40
        assert not is_weak_secret(secret)


def test_create_and_revoke_are_audited_without_the_secret_or_its_hash(
    admin: TokenAdmin, catalog: MemoryCatalog
) -> None:
    issued = admin.issue("auditor", Role.COMPLIANCE, [NANKAI_OFFICE], by="cli:root", source="host")
    admin.revoke("auditor", by="cli:root", source="host")
    admin.revoke("auditor", by="cli:root", source="host")  # already revoked: nothing to audit
    events = catalog.audit_events("token/")
    assert [(e.action, e.actor, e.role, e.subject, e.source) for e in events] == [
        ("token.created", "cli:root", "admin", "token/auditor", "host"),
        ("token.revoked", "cli:root", "admin", "token/auditor", "host"),
    ]
    assert events[0].detail == {"role": "compliance", "orgs": [NANKAI_OFFICE]}
    logged = json.dumps([e.__dict__ for e in events], default=str)
    assert issued.secret not in logged and token_digest(issued.secret) not in logged


def test_a_name_lives_in_one_source_only(admin: TokenAdmin) -> None:
    for configured in ("ops", "demo-operator"):
        with pytest.raises(Conflict) as refused:
            admin.issue(configured, Role.ADMIN, ["*"], by="cli")
        assert "DISCLOSURE_TOKENS" in refused.value.message_en
    admin.issue("auditor", Role.COMPLIANCE, ["*"], by="cli")
    with pytest.raises(Conflict):
        admin.issue("auditor", Role.ADMIN, ["*"], by="cli")
    with pytest.raises(InvalidInput) as configured_revoke:
        admin.revoke("ops", by="cli")
    assert configured_revoke.value.code == "token_configured"


def test_name_clashes_are_the_configured_names_the_catalog_holds_revoked_or_not(
    catalog: MemoryCatalog,
) -> None:
    TokenAdmin(catalog, frozenset()).issue("ops", Role.OPERATOR, ["*"], by="cli")
    TokenAdmin(catalog, frozenset()).revoke("ops", by="cli")
    assert name_clashes(frozenset({"ops", "other"}), catalog) == ["ops"]


@pytest.mark.parametrize(
    ("name", "orgs", "code"),
    [
        ("a b", ["*"], "invalid_token_name"),
        ("", ["*"], "invalid_token_name"),
        ("x" * 65, ["*"], "invalid_token_name"),
        ("auditor", [], "invalid_token_bodies"),
        ("auditor", ["123"], "invalid_token_bodies"),
        ("auditor", [WRONG_CHECK], "invalid_token_bodies"),
    ],
    ids=["space", "empty", "too long", "no bodies", "not a USCC", "wrong check character"],
)  # fmt: skip
def test_a_bad_name_or_body_is_refused_and_nothing_is_kept(
    admin: TokenAdmin, catalog: MemoryCatalog, name: str, orgs: list[str], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        admin.issue(name, Role.OPERATOR, orgs, by="cli")
    assert refused.value.code == code
    assert catalog.tokens == {} and catalog.audit_log == []


def test_all_bodies_stands_alone_and_chinese_names_are_welcome(admin: TokenAdmin) -> None:
    issued = admin.issue("南开区-审核员.1", Role.ADMIN, ["*", NANKAI_OFFICE], by="cli")
    assert issued.token.orgs == frozenset({"*"})

"""Granting an exemption (免报): who may, what is archived, and what a second one gets."""

from __future__ import annotations

import io
import json

import pytest

from service.domain.access import Principal, Role
from service.domain.errors import Conflict, Forbidden
from service.domain.org import Organisation, OrgRegistry
from service.usecases.exemptions import (
    ExemptionRequest,
    exemption_key,
    grant_exemption,
    parse_exemption,
    read_exemptions,
)
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY
from tests.support.clock import FakeClock

REGISTRY = OrgRegistry.of(
    [Organisation(NANKAI_OFFICE, "合作交流办"), Organisation(OTHER_BODY, "司法局")]
)
ADMIN = Principal("admin", Role.ADMIN, frozenset({"*"}))
REQUEST = ExemptionRequest(NANKAI_OFFICE, "rule_of_law_report", "2023", "  机构撤并  ")


def test_an_exemption_is_archived_write_once_and_reads_back_as_recorded() -> None:
    catalog, store = MemoryCatalog(), InMemoryStore()
    granted = grant_exemption(
        catalog, store, REGISTRY, REQUEST, principal=ADMIN, now=FakeClock().now
    )

    key = f"decisions/exemptions/2023/{NANKAI_OFFICE}/rule_of_law_report.json"
    assert exemption_key(granted) == key
    with store.open(key) as stored:
        document = json.load(stored)
    assert document["reason"] == "机构撤并" and document["created_by"] == "admin"
    assert [read for _, read in read_exemptions(store)] == [granted]
    assert catalog.exemptions(None) == [granted]


def test_an_admin_limited_to_some_bodies_may_not_exempt_another() -> None:
    limited = Principal("admin-b", Role.ADMIN, frozenset({OTHER_BODY}))
    with pytest.raises(Forbidden):
        grant_exemption(
            MemoryCatalog(),
            InMemoryStore(),
            REGISTRY,
            REQUEST,
            principal=limited,
            now=FakeClock().now,
        )


def test_an_exemption_already_archived_is_refused_though_the_catalog_lost_it() -> None:
    """A crash between the archive and the catalog: the archived decision stands."""
    store = InMemoryStore()
    grant_exemption(MemoryCatalog(), store, REGISTRY, REQUEST, principal=ADMIN, now=FakeClock().now)
    with pytest.raises(Conflict) as refused:
        grant_exemption(
            MemoryCatalog(), store, REGISTRY, REQUEST, principal=ADMIN, now=FakeClock().now
        )
    assert refused.value.code == "exemption_exists"


def test_a_damaged_exemption_object_is_reported_not_restored() -> None:
    store = InMemoryStore()
    store.put_new("decisions/exemptions/2023/x/rule_of_law_report.json", io.BytesIO(b"{not json"))
    [(key, read)] = list(read_exemptions(store))
    assert isinstance(read, ValueError) and key.endswith("rule_of_law_report.json")
    with pytest.raises(ValueError):
        parse_exemption(b'{"org_code": "x"}')

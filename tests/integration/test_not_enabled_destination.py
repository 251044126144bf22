"""A filing routed to a destination that publishes on a body's own account (the WeChat
official account), for a body that has none there: 未开通, on a real catalog (SQLite and
PostgreSQL) — never sent, never a failure, no wait for the published status — and the
same after `rebuild-catalog` from the archive alone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from service.archive.packages import Packages
from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.sql.restore import CatalogRestore
from service.catalog.sql.tables import Base
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation, OrgRegistry
from service.uploads import spool
from service.usecases.checking import Checks
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.recovery import rebuild_catalog
from tests.fakes import InMemoryStore, ScriptedPortal
from tests.support.bodies import NANKAI_NAME, NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
WECHAT = Destination("wechat")
ACCOUNT = {"appid": "wx1", "secret": "s", "mass_send": "false"}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _checks() -> Checks:
    bodies = OrgRegistry.of(
        [
            Organisation(NANKAI_OFFICE, NANKAI_NAME, aliases=("南开区合作交流办",)),
            Organisation(OTHER_BODY, "天津市南开区司法局", aliases=("南开区司法局",),
                         accounts={"wechat": ACCOUNT}),
        ]
    )  # fmt: skip
    checks = checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]})
    return Checks(**{**checks.__dict__, "registry": bodies})


def _submit(ingest: Ingest, org_code: str, org_name: str) -> str:
    metadata = sample_metadata() | {"org_code": org_code, "org_name": org_name}
    upload = spool([SAMPLE_PATH.read_bytes()], "item.txt", 10**7)
    parsed = FilingMetadata.model_validate(metadata)
    return submit_filing(ingest, OPERATOR, parsed, upload, Origin()).filing.id


def test_a_body_without_an_account_is_not_enabled_there_before_and_after_a_rebuild(
    catalog: Catalog, engine: Engine, clock: FakeClock
) -> None:
    store = InMemoryStore()
    packages = Packages(store, clock=clock)
    ingest = Ingest(catalog=catalog, packages=packages, checks=_checks(), clock=clock)
    without = _submit(ingest, NANKAI_OFFICE, "南开区合作交流办")
    with_account = _submit(ingest, OTHER_BODY, "南开区司法局")
    portal = ScriptedPortal([Delivered({"article_id": f"a{i}", "url": f"https://p/a{i}"}) for i in range(2)])  # fmt: skip
    wechat = ScriptedPortal([Delivered({"article_id": "w1", "url": "https://mp/w1"})], destination="wechat")  # fmt: skip
    worker = Worker(
        catalog=catalog, packages=packages, adapters={"portal": portal, "wechat": wechat},
        config=WorkerConfig("w1", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([60], 3600)),
        clock=clock, reader=in_process_reader(), after={"wechat": ["portal"]},
    )  # fmt: skip
    for _ in range(3):
        while worker.run_once():
            pass
        clock.advance(6)

    def seen() -> dict[str, tuple[str, dict[str, str]]]:
        found = {}
        for fid in (without, with_account):
            filing = catalog.get_filing(fid)
            assert filing is not None
            found[fid] = (
                filing.versions[0].status.value,
                {d.destination: d.status.value for d in filing.deliveries},
            )
        return found

    before = seen()
    assert before[without] == ("published", {"portal": "delivered", "wechat": "not_enabled"})
    assert before[with_account] == ("published", {"portal": "delivered", "wechat": "delivered"})
    assert len(wechat.jobs) == 1 and wechat.jobs[0].org_code == OTHER_BODY

    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    restore = CatalogRestore(make_sessions(engine), clock=clock)
    report = rebuild_catalog(restore, store, packages, now=clock())

    assert report.ok
    assert seen() == before

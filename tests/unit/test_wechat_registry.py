"""The WeChat official account on the destination registry: its entry, a body's account
(appid, secret by environment variable, the optional mass_send switch), the route that
names it, the body without an account that skips it (未开通) without failing or waiting,
and what the worker makes of the adapter's quota deferral and mass message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from service.archive.packages import Packages
from service.archive.version_metadata import VersionMetadata
from service.bootstrap import destinations
from service.configured import ConfigurationError
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, RetryLater
from service.delivery.worker import Worker, WorkerConfig
from service.destinations import (
    account_fields,
    account_options,
    destination_spec,
    route_problems,
)
from service.domain.access import Principal, Role
from service.domain.destinations import Capability
from service.domain.filing import Category, DeliveryStatus, Destination, VersionStatus
from service.domain.metadata import FilingMetadata
from service.domain.notifications import NoticeKind, Recipients
from service.domain.org import Organisation, OrgRegistry
from service.domain.outbox import Unmet, prerequisites, settled_status
from service.orgs import RegistryError, load_registry
from service.settings import Settings
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from tests.fakes import InMemoryStore, MemoryCatalog, ScriptedPortal
from tests.support.bodies import NANKAI_NAME, NANKAI_OFFICE, sample_metadata
from tests.support.checks import checks_for
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH

WECHAT = Destination("wechat")
OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
ENVIRON = {"NANKAI_WX_SECRET": "wx-secret-from-the-platform"}


# -- the entry --------------------------------------------------------------------------------


def test_the_entry_publishes_paragraphs_after_the_portal_on_a_bodys_account() -> None:
    spec = destination_spec("wechat")
    assert WECHAT.label_zh == "微信公众号"
    assert spec.after == (Destination.PORTAL,)
    assert {Capability.PARAGRAPHS, Capability.WITHDRAW} <= spec.capabilities
    assert spec.limits.needs_account
    assert spec.limits.attachment_kinds == frozenset()
    assert {"docx", "pdf", "ofd", "txt", "md"} <= spec.limits.text_only_kinds
    assert spec.account_fields == ("appid", "secret")
    assert spec.account_options == ("mass_send",)


def test_it_is_off_unless_a_route_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings().routes_to(WECHAT)
    monkeypatch.setenv("DISCLOSURE_ROUTES", '{"livelihood": ["portal", "wechat"]}')
    assert Settings().routes_to(WECHAT)


def test_production_wants_its_url(tmp_path: Path) -> None:
    problems = destination_spec("wechat").problems(Settings())
    assert any("DISCLOSURE_WECHAT_URL" in p for p in problems)
    bad = tmp_path / "cover.gif"
    bad.write_bytes(b"GIF89a")
    problems = destination_spec("wechat").problems(
        Settings(wechat_url="https://api.weixin.qq.com/cgi-bin/", wechat_cover_file=bad)
    )
    assert len(problems) == 1 and "JPEG or PNG" in problems[0]


# -- a body's account -------------------------------------------------------------------------


def _load(tmp_path: Path, account: str) -> OrgRegistry:
    path = tmp_path / "orgs.yaml"
    path.write_text(
        f"bodies:\n  - org_code: '{NANKAI_OFFICE}'\n    name: {NANKAI_NAME}\n"
        f"    accounts:\n      wechat: {account}\n",
        encoding="utf-8",
    )
    return load_registry(path, ENVIRON, account_fields(), account_options())


def test_a_bodys_account_has_its_secret_from_the_environment_and_mass_send_off(
    tmp_path: Path,
) -> None:
    body = _load(tmp_path, "{appid: wx123, secret_env: NANKAI_WX_SECRET}").get(NANKAI_OFFICE)
    assert body is not None
    assert body.accounts["wechat"] == {
        "appid": "wx123", "secret": "wx-secret-from-the-platform", "mass_send": "false",
    }  # fmt: skip
    assert "wx-secret" not in repr(body)


@pytest.mark.parametrize(
    ("given", "held"), [("true", "true"), ("false", "false"), ("'true'", "true")]
)
def test_mass_send_is_a_switch(tmp_path: Path, given: str, held: str) -> None:
    account = f"{{appid: wx123, secret_env: NANKAI_WX_SECRET, mass_send: {given}}}"
    body = _load(tmp_path, account).get(NANKAI_OFFICE)
    assert body is not None and body.accounts["wechat"]["mass_send"] == held


@pytest.mark.parametrize(
    "account",
    [
        "{appid: wx123, secret_env: NANKAI_WX_SECRET, mass_send: maybe}",
        "{appid: wx123, secret_env: NANKAI_WX_SECRET, token: x}",
        "{appid: wx123}",
        "{appid: wx123, secret_env: UNSET_VARIABLE}",
    ],
)
def test_an_account_that_cannot_work_is_refused(tmp_path: Path, account: str) -> None:
    with pytest.raises(RegistryError, match=r"accounts\.wechat"):
        _load(tmp_path, account)


# -- routing and the body without an account ---------------------------------------------------


def _ingest(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, *, account: bool) -> str:
    accounts = {"wechat": {"appid": "wx1", "secret": "s", "mass_send": "false"}} if account else {}
    body = Organisation(
        NANKAI_OFFICE, NANKAI_NAME, aliases=("南开区合作交流办",), accounts=accounts
    )
    checks = checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]})
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        checks=type(checks)(**{**checks.__dict__, "registry": OrgRegistry.of([body])}),
        clock=clock,
    )
    upload = spool([SAMPLE_PATH.read_bytes()], "report.txt", 10**7)
    metadata = FilingMetadata.model_validate(sample_metadata())
    return submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id


def _worker(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, **adapters: ScriptedPortal) -> Worker:  # fmt: skip
    from tests.support.checks import in_process_reader

    config = WorkerConfig("w1", concurrency=1, lease=timedelta(seconds=30), poll_s=0.01,
                          policy=RetryPolicy.of_seconds([60], 72 * 3600))  # fmt: skip
    return Worker(
        catalog=catalog, packages=packages, adapters=adapters, config=config, clock=clock,
        reader=in_process_reader(), after={"wechat": ["portal"]},
        recipients=Recipients(compliance=["compliance@example.gov.cn"], email=True),
    )  # fmt: skip


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def packages(clock: FakeClock) -> Packages:
    return Packages(InMemoryStore(), clock=clock)


def test_a_body_without_an_account_skips_it_not_enabled_and_is_published_by_the_portal(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _ingest(catalog, packages, clock, account=False)
    filing = catalog.get_filing(fid)
    assert filing is not None
    statuses = {d.destination: d.status for d in filing.deliveries}
    assert statuses == {"portal": DeliveryStatus.PENDING, "wechat": DeliveryStatus.NOT_ENABLED}
    metadata = VersionMetadata.from_json(packages.read_metadata(filing.versions[0].package_prefix))
    assert metadata.destinations == ("portal",) and metadata.not_enabled == ("wechat",)
    [submitted] = [e for e in catalog.audit_events() if e.action == "filing.submitted"]
    assert submitted.detail["not_enabled"] == ["wechat"]

    wechat = ScriptedPortal([], destination="wechat")
    portal = ScriptedPortal([Delivered({"article_id": "a1", "url": "https://portal/a1"})])
    while _worker(catalog, packages, clock, portal=portal, wechat=wechat).run_once():
        pass

    settled = catalog.get_filing(fid)
    assert settled is not None
    assert settled.versions[0].status == VersionStatus.PUBLISHED
    assert {d.destination: d.status for d in settled.deliveries}["wechat"] == "not_enabled"
    assert wechat.jobs == []


def test_a_body_with_an_account_gets_the_article_after_the_portal_linking_to_it(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _ingest(catalog, packages, clock, account=True)
    portal = ScriptedPortal([Delivered({"article_id": "a1", "url": "https://portal/a1"})])
    wechat = ScriptedPortal([Delivered({"article_id": "w1", "article_url": "https://mp/w1"})],
                            destination="wechat")  # fmt: skip
    worker = _worker(catalog, packages, clock, portal=portal, wechat=wechat)
    for _ in range(3):
        while worker.run_once():
            pass
        clock.advance(6)

    assert [j.prior_receipts for j in wechat.jobs] == [
        {"portal": {"article_id": "a1", "url": "https://portal/a1"}}
    ]
    settled = catalog.get_filing(fid)
    assert settled is not None and settled.versions[0].status == VersionStatus.PUBLISHED


def test_a_quota_deferral_reschedules_and_tells_an_operator_once_a_day(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _ingest(catalog, packages, clock, account=True)
    tomorrow = RetryLater("wechat_45009", "今日额度已用尽", 200, retry_after=5400, notify=True)
    portal = ScriptedPortal([Delivered({"article_id": "a1", "url": "https://portal/a1"})])
    wechat = ScriptedPortal([tomorrow, tomorrow], destination="wechat")
    worker = _worker(catalog, packages, clock, portal=portal, wechat=wechat)
    worker.run_once()
    clock.advance(6)
    worker.run_once()

    filing = catalog.get_filing(fid)
    assert filing is not None
    [delivery] = [d for d in filing.deliveries if d.destination == "wechat"]
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at == clock() + timedelta(seconds=5400)
    deferred = [
        n for n in catalog.notification_rows.values() if n.kind == NoticeKind.DELIVERY_DEFERRED
    ]
    assert [n.recipient for n in deferred] == ["compliance@example.gov.cn"]
    assert deferred[0].detail["code"] == "wechat_45009"


def test_a_mass_message_is_in_the_audit_log(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _ingest(catalog, packages, clock, account=True)
    portal = ScriptedPortal([Delivered({"article_id": "a1", "url": "https://portal/a1"})])
    sent = {"status": "sent", "clientmsgid": f"{fid}-v1-wechat", "msg_id": "1001"}
    wechat = ScriptedPortal([Delivered({"article_id": "w1"}, 200, {"mass_send": sent})],
                            destination="wechat")  # fmt: skip
    worker = _worker(catalog, packages, clock, portal=portal, wechat=wechat)
    for _ in range(3):
        while worker.run_once():
            pass
        clock.advance(6)

    [event] = [
        e for e in catalog.audit_events()
        if e.action == "delivery.delivered" and e.subject.endswith("/wechat")
    ]  # fmt: skip
    assert event.detail["mass_send"] == sent


# -- the outbox's rules -----------------------------------------------------------------------


def test_not_enabled_neither_fails_nor_holds_a_version() -> None:
    ne, delivered = DeliveryStatus.NOT_ENABLED, DeliveryStatus.DELIVERED
    assert settled_status({delivered, ne}) is VersionStatus.PUBLISHED
    assert settled_status({ne}) is VersionStatus.PUBLISHED
    assert settled_status({DeliveryStatus.PENDING, ne}) is None
    assert settled_status({DeliveryStatus.FAILED, ne}) is VersionStatus.DELIVERY_FAILED
    assert prerequisites(["wechat"], {"wechat": (ne, None)}) == Unmet("wechat", "not_enabled")


def test_a_route_to_wechat_without_the_portal_stops_the_start_naming_both(tmp_path: Path) -> None:
    """WeChat needs the portal's receipt first (`after`): a route without the portal would
    fail every WeChat delivery, so the start refuses it."""
    settings = Settings(
        data_dir=tmp_path,
        routes={"livelihood": ["wechat"], "leadership": ["portal", "wechat"]},  # type: ignore[dict-item,list-item]
    )

    with pytest.raises(ConfigurationError) as raised, destinations(settings):
        pass

    said = str(raised.value)
    assert "livelihood goes to wechat without portal" in said and "leadership" not in said
    assert route_problems({Category("leadership"): [Destination.PORTAL, WECHAT]}) == []

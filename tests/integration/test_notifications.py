"""Notifications, end to end on real servers on 127.0.0.1: a delivery that fails for good
and a report the legal platform returns are told by e-mail (an aiosmtpd server) and by
a signed webhook (an HTTP server) exactly once per event — a webhook answering 503 first
included — and a second identical trigger sends nothing new. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from service.archive.packages import Packages
from service.bootstrap import build_container, build_worker, tick_jobs
from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent
from service.delivery.legal_platform import LegalPlatformAdapter, LegalPlatformConfig
from service.delivery.policy import RetryPolicy
from service.delivery.port import DestinationAdapter, Failed
from service.delivery.quick_retry import QuickRetryPolicy
from service.delivery.reviews import poll_reviews
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.domain.notifications import (
    Channel,
    NoticeEvent,
    NoticeKind,
    NotificationStatus,
    Recipients,
)
from service.notifications.email import SmtpChannel, SmtpConfig
from service.notifications.port import NotificationChannel
from service.notifications.sender import NotificationSender, SenderConfig
from service.notifications.signing import verify
from service.notifications.webhook import WebhookChannel
from service.settings import Settings
from service.simulators.legal_platform import SimulatorConfig, start_in_thread
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.tick import run_tick
from service.usecases.verification import verify_filing
from tests.fakes import InMemoryStore, ScriptedPortal
from tests.support.bodies import NANKAI_OFFICE, sample_metadata, write_registry
from tests.support.certificates import self_signed
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.receivers import (
    SmtpInbox,
    SmtpTls,
    WebhookInbox,
    smtp_server,
    webhook_receiver,
)

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CONTACT, COMPLIANCE = "liming@nankai.gov.cn", "ducha@tj.gov.cn"
TOLD = Recipients(
    contacts={NANKAI_OFFICE: [CONTACT]}, compliance=[COMPLIANCE], email=True, webhook=True
)
RETRY_AFTER_S = 5  # the sender's durable schedule: the next try 5 s after a failed one
ONE_TRY = QuickRetryPolicy(tries=1)  # so that a 503 goes back to the outbox, to be seen


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def packages(store: InMemoryStore, clock: FakeClock) -> Packages:
    return Packages(store, clock=clock)


@pytest.fixture
def mail() -> Iterator[SmtpInbox]:
    with smtp_server(refuse=frozenset({"nobody@tj.gov.cn"})) as inbox:
        yield inbox


@pytest.fixture
def hook() -> Iterator[WebhookInbox]:
    with webhook_receiver([503]) as inbox:  # the first attempt fails, the rest succeed
        yield inbox


def _sender(
    catalog: Catalog, clock: FakeClock, mail: SmtpInbox, hook: WebhookInbox
) -> NotificationSender:
    channels: dict[Channel, NotificationChannel] = {
        Channel.EMAIL: SmtpChannel(
            SmtpConfig("127.0.0.1", mail.port, "none", "disclosure@tj.gov.cn"), ONE_TRY
        ),
        Channel.WEBHOOK: WebhookChannel(hook.url, SECRET, ONE_TRY, clock=clock),
    }
    config = SenderConfig("n1", RetryPolicy.of_seconds([RETRY_AFTER_S], 3600))
    return NotificationSender(catalog=catalog, channels=channels, config=config, clock=clock)


def _submit(catalog: Catalog, packages: Packages, clock: FakeClock, to: Destination) -> str:
    checks = checks_for({Category.RULE_OF_LAW_REPORT: [to]})
    ingest = Ingest(catalog=catalog, packages=packages, checks=checks, clock=clock)
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
    metadata = FilingMetadata.model_validate(sample_metadata())
    return submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id


def _work(
    catalog: Catalog, packages: Packages, clock: FakeClock, adapter: DestinationAdapter
) -> None:
    config = WorkerConfig("w", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 60))
    Worker(
        catalog=catalog,
        packages=packages,
        adapters={adapter.destination: adapter},  # type: ignore[attr-defined]
        config=config,
        clock=clock,
        reader=in_process_reader(),
        recipients=TOLD,
    ).run_once()


def _send_until_quiet(sender: NotificationSender, clock: FakeClock) -> None:
    """Drain, then step the clock past each retry until nothing is due or waiting."""
    for _ in range(5):
        sender.drain()
        clock.advance(RETRY_AFTER_S)
    sender.drain()


def _assert_signed(hook: WebhookInbox) -> None:
    for request in hook.requests:
        headers = request.headers
        timestamp = int(headers["webhook-timestamp"])
        assert verify(
            SECRET, headers["webhook-id"], timestamp, request.body, headers["webhook-signature"]
        )
        assert not verify("whsec_" + "A" * 32, headers["webhook-id"], timestamp, request.body,
                          headers["webhook-signature"])  # fmt: skip


def test_a_delivery_that_fails_for_good_is_told_once_by_email_and_by_webhook(
    catalog: Catalog, packages: Packages, clock: FakeClock, mail: SmtpInbox, hook: WebhookInbox
) -> None:
    filing_id = _submit(catalog, packages, clock, Destination.PORTAL)
    _work(catalog, packages, clock, ScriptedPortal([Failed("channel_unknown", "栏目不存在")]))

    _send_until_quiet(_sender(catalog, clock, mail, hook), clock)

    assert sorted(rcpt for _, [rcpt] in mail.envelopes) == [COMPLIANCE, CONTACT]
    message = mail.messages[0]
    assert message["Subject"] == f"【政府信息公开报送】报送失败：已停止重试：{filing_id}"
    text = message.get_content()
    assert text.index("报送失败") < text.index("Delivery failed for good")
    assert filing_id in text and "channel_unknown" in text

    assert [r.status for r in hook.requests] == [503, 200]
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1
    _assert_signed(hook)
    body = json.loads(hook.accepted[0].body)
    assert body["type"] == "delivery.failed"
    assert body["data"]["filing_id"] == filing_id
    assert body["data"]["org_code"] == NANKAI_OFFICE
    assert body["data"]["detail"]["destination"] == "portal"
    assert {n.status for n in catalog.notifications()} == {NotificationStatus.SENT}
    assert [e.action for e in catalog.audit_events()].count("notification.sent") == 3


def test_the_same_delivery_failing_again_sends_nothing_new(
    catalog: Catalog, packages: Packages, clock: FakeClock, mail: SmtpInbox, hook: WebhookInbox
) -> None:
    filing_id = _submit(catalog, packages, clock, Destination.PORTAL)
    _work(catalog, packages, clock, ScriptedPortal([Failed("channel_unknown", "栏目不存在")]))
    sender = _sender(catalog, clock, mail, hook)
    _send_until_quiet(sender, clock)
    sent = (len(mail.messages), len(hook.requests))

    retry = AuditEvent("op", "operator", "delivery.retry_requested", filing_id)
    catalog.requeue_failed_delivery(filing_id, "portal", retry)
    _work(catalog, packages, clock, ScriptedPortal([Failed("channel_unknown", "栏目不存在")]))
    _send_until_quiet(sender, clock)

    assert catalog.get_filing(filing_id).deliveries[0].attempts == 2  # type: ignore[union-attr]
    assert (len(mail.messages), len(hook.requests)) == sent
    assert len(catalog.notifications()) == 3


@pytest.fixture
def platform() -> Iterator[str]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running.url


def test_a_returned_report_is_told_once_however_often_it_is_polled(
    catalog: Catalog,
    packages: Packages,
    clock: FakeClock,
    mail: SmtpInbox,
    hook: WebhookInbox,
    platform: str,
) -> None:
    adapter = LegalPlatformAdapter(
        LegalPlatformConfig(platform, "legal-demo", "legal-demo-secret", quick_tries=1)
    )
    filing_id = _submit(catalog, packages, clock, Destination.LEGAL_PLATFORM)
    _work(catalog, packages, clock, adapter)
    receipt_no = catalog.get_filing(filing_id).deliveries[0].receipt["receipt_no"]  # type: ignore[union-attr,index]
    body: dict[str, Any] = {"status": "RETURNED", "return_reason": "第三部分未写明履职情况"}
    assert httpx.post(f"{platform}/_admin/reviews/{receipt_no}", json=body).status_code == 200

    sender = _sender(catalog, clock, mail, hook)
    for _ in range(3):
        clock.advance(1)
        poll_reviews(
            catalog, packages, adapter, clock=clock, interval=timedelta(0), recipients=TOLD
        )
        _send_until_quiet(sender, clock)

    assert len(mail.messages) == 2
    assert mail.messages[0]["Subject"].startswith("【政府信息公开报送】报告被退回，请更正")
    assert "第三部分未写明履职情况" in mail.messages[0].get_content()
    assert [r.status for r in hook.requests] == [503, 200]
    assert json.loads(hook.accepted[0].body)["type"] == "review.returned"
    _assert_signed(hook)


def test_a_refused_recipient_and_a_refusing_webhook_are_recorded_not_retried(
    catalog: Catalog, store: InMemoryStore, packages: Packages, clock: FakeClock, mail: SmtpInbox
) -> None:
    told = Recipients({NANKAI_OFFICE: ["nobody@tj.gov.cn"]}, [COMPLIANCE], email=True, webhook=True)
    filing_id = _submit(catalog, packages, clock, Destination.PORTAL)
    version = catalog.get_version(filing_id, 1)
    assert version is not None
    [payload] = [k for k in store.list(version.package_prefix) if k.endswith("data/report.docx")]
    store.corrupt(payload, b"tampered")
    verify_filing(catalog, packages, filing_id, checked_by="t", now=clock(), recipients=told)

    with webhook_receiver([400]) as refusing:
        _send_until_quiet(_sender(catalog, clock, mail, refusing), clock)
        assert [r.status for r in refusing.requests] == [400]

    assert [rcpt for _, [rcpt] in mail.envelopes] == [COMPLIANCE]
    assert "固定性校验失败" in mail.messages[0]["Subject"]
    outcome = {(n.channel, n.recipient): (n.status, n.attempts) for n in catalog.notifications()}
    assert outcome == {
        (Channel.EMAIL, COMPLIANCE): (NotificationStatus.SENT, 1),
        (Channel.EMAIL, "nobody@tj.gov.cn"): (NotificationStatus.FAILED, 1),
        (Channel.WEBHOOK, "webhook"): (NotificationStatus.FAILED, 1),
    }
    failed = [n for n in catalog.notifications() if n.status is NotificationStatus.FAILED]
    assert {n.last_error.split(":")[0] for n in failed} == {  # type: ignore[union-attr]
        "recipient_refused",
        "webhook_refused",
    }
    assert [e.action for e in catalog.audit_events()].count("notification.failed") == 2


def test_an_smtp_server_that_is_down_is_tried_again_later(
    catalog: Catalog, packages: Packages, clock: FakeClock, mail: SmtpInbox, hook: WebhookInbox
) -> None:
    _submit(catalog, packages, clock, Destination.PORTAL)
    _work(catalog, packages, clock, ScriptedPortal([Failed("channel_unknown", "栏目不存在")]))
    down = SmtpChannel(SmtpConfig("127.0.0.1", 9, "none", "disclosure@tj.gov.cn"), ONE_TRY)
    config = SenderConfig("n1", RetryPolicy.of_seconds([RETRY_AFTER_S], 3600))
    NotificationSender(
        catalog=catalog, channels={Channel.EMAIL: down}, config=config, clock=clock
    ).drain()
    emails = [n for n in catalog.notifications() if n.channel is Channel.EMAIL]
    assert {(n.status, n.attempts) for n in emails} == {(NotificationStatus.PENDING, 1)}
    assert all((n.last_error or "").startswith("smtp_unavailable") for n in emails)

    _send_until_quiet(_sender(catalog, clock, mail, hook), clock)
    assert len(mail.messages) == 2


def test_a_tick_built_from_settings_tells_the_registrys_contacts(
    tmp_path: Path, clock: FakeClock, mail: SmtpInbox, hook: WebhookInbox
) -> None:
    """`disclosure tick` as the composition root builds it: the registry's contacts and the
    compliance address, the SMTP and webhook settings; one tick sends what it raised."""
    registry = write_registry(tmp_path)
    registry.write_text(
        registry.read_text("utf-8").replace(
            "    level: department\n",
            f"    level: department\n    contacts: [{{name: 李明, email: {CONTACT}}}]\n",
            1,
        ),
        encoding="utf-8",
    )
    settings = Settings(
        data_dir=tmp_path / "var",
        orgs_file=registry,
        smtp_host="127.0.0.1",
        smtp_port=mail.port,
        smtp_tls="none",
        smtp_sender="disclosure@tj.gov.cn",
        compliance_email=COMPLIANCE,
        webhook_url=hook.url,
        webhook_secret=SECRET,
        backoff_initial_s=0.01,
        fixity_sample_per_tick=0,
    )
    container = build_container(settings, clock=clock)
    try:
        checks = checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]})
        ingest = Ingest(
            catalog=container.catalog, packages=container.packages, checks=checks, clock=clock
        )
        upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
        metadata = FilingMetadata.model_validate(sample_metadata())
        submit_filing(ingest, OPERATOR, metadata, upload, Origin())
        adapters: dict[str, DestinationAdapter] = {
            "portal": ScriptedPortal([Failed("channel_unknown", "栏目不存在")])
        }
        jobs = tick_jobs(container, adapters, build_worker(container, adapters))
        # the registry's bodies have deadlines too; test_tick_deadlines tells of those
        report = run_tick(dataclasses.replace(jobs, deadlines=None))
    finally:
        container.close()

    assert report.notifications_tried == 3
    assert sorted(rcpt for _, [rcpt] in mail.envelopes) == [COMPLIANCE, CONTACT]
    assert [r.status for r in hook.requests] == [503, 200]  # quick retries, in process
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1
    _assert_signed(hook)


def _one_notice(catalog: Catalog, clock: FakeClock) -> None:
    told = Recipients({}, [COMPLIANCE], email=True)
    event = NoticeEvent(NoticeKind.DEADLINE_MISSED, f"{NANKAI_OFFICE}/x/2023", clock())
    catalog.enqueue_notifications(told.notices(event))


def _email_only(catalog: Catalog, clock: FakeClock, config: SmtpConfig) -> NotificationSender:
    channels: dict[Channel, NotificationChannel] = {Channel.EMAIL: SmtpChannel(config, ONE_TRY)}
    policy = RetryPolicy.of_seconds([RETRY_AFTER_S], 3600)
    return NotificationSender(
        catalog=catalog, channels=channels, config=SenderConfig("n1", policy), clock=clock
    )


# aiosmtpd warns of AUTH without STARTTLS; with implicit TLS the whole connection is TLS
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_over_tls_with_a_login_to_a_server_whose_certificate_is_trusted(
    catalog: Catalog, clock: FakeClock, tmp_path: Path, mode: Literal["starttls", "tls"]
) -> None:
    cert, key = self_signed(tmp_path)
    tls = SmtpTls(mode, cert, key, login=("disclosure", "mail-password-1"))
    with smtp_server(tls=tls) as inbox:
        _one_notice(catalog, clock)
        config = SmtpConfig(
            "127.0.0.1",
            inbox.port,
            mode,
            "disclosure@tj.gov.cn",
            username="disclosure",
            password="mail-password-1",
            ca_file=str(cert),
        )
        _email_only(catalog, clock, config).drain()
        assert [rcpt for _, [rcpt] in inbox.envelopes] == [COMPLIANCE]


def test_mail_is_not_sent_to_a_server_whose_certificate_is_not_trusted(
    catalog: Catalog, clock: FakeClock, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    with smtp_server(tls=SmtpTls("starttls", cert, key)) as inbox:
        _one_notice(catalog, clock)
        config = SmtpConfig("127.0.0.1", inbox.port, "starttls", "disclosure@tj.gov.cn")
        _email_only(catalog, clock, config).drain()
        assert inbox.messages == []
    [row] = catalog.notifications()
    assert row.status is NotificationStatus.PENDING
    assert (row.last_error or "").startswith("smtp_unavailable: SSLCertVerificationError")

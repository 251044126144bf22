"""Notifications without a server: who is told, the Standard Webhooks signature, the
message a person reads, deadlines told once, fixity events, the settings and the
registry's contacts, and what production refuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.configured import build_recipients
from service.domain.notifications import Channel, NoticeEvent, NoticeKind, Recipients
from service.domain.org import Contact, Organisation, OrgRegistry
from service.notifications.email import message
from service.notifications.signing import sign, verify
from service.orgs import RegistryError, load_registry
from service.settings import Settings
from service.usecases.notifications import notify_deadlines
from service.usecases.verification import VersionFixity, fixity_events
from tests.fakes import MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY
from tests.support.clock import FakeClock
from tests.unit.test_settings import _production

AT = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)


def _event(kind: NoticeKind = NoticeKind.DELIVERY_FAILED, subject: str = "dlv_1") -> NoticeEvent:
    return NoticeEvent(kind, subject, AT, filing_id="fil_1", org_code=NANKAI_OFFICE)


def test_the_signature_is_the_standard_webhooks_one() -> None:
    """The specification's own example (standard-webhooks, libraries' test vector)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, f"v1,bad {signature}")
    assert not verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, signature)


def test_a_secret_without_the_whsec_prefix_is_its_own_bytes() -> None:
    as_base64 = "whsec_YS1wbGFpbi1zZWNyZXQ="  # base64 of "a-plain-secret"
    assert sign("a-plain-secret", "evt", 1, b"{}") == sign(as_base64, "evt", 1, b"{}")
    assert sign("a-plain-secret", "evt", 1, b"{}") != sign("another-secret", "evt", 1, b"{}")


def test_an_event_id_is_its_kind_and_subject() -> None:
    later = NoticeEvent(NoticeKind.DELIVERY_FAILED, "dlv_1", datetime(2025, 1, 1, tzinfo=UTC))
    assert _event().event_id == later.event_id
    assert _event().event_id != _event(subject="dlv_2").event_id
    assert _event().event_id != _event(NoticeKind.REVIEW_RETURNED).event_id


def test_the_bodys_contacts_and_compliance_are_told_once_each_by_the_channels_configured() -> None:
    told = Recipients(
        {NANKAI_OFFICE: ["LiMing@nankai.gov.cn", "ducha@tj.gov.cn"], OTHER_BODY: ["x@y.cn"]},
        ["Ducha@tj.gov.cn"],
        email=True,
        webhook=True,
    )
    assert [(n.channel, n.recipient) for n in told.notices(_event())] == [
        (Channel.WEBHOOK, "webhook"),
        (Channel.EMAIL, "LiMing@nankai.gov.cn"),
        (Channel.EMAIL, "ducha@tj.gov.cn"),
    ]
    assert Recipients({NANKAI_OFFICE: ["a@b.cn"]}, ["c@d.cn"]).notices(_event()) == []


def test_recipients_come_from_the_registry_and_the_settings() -> None:
    registry = OrgRegistry.of(
        [Organisation(NANKAI_OFFICE, "南开区合作交流办", contacts=(Contact("李明", "lm@nk.cn"),))]
    )
    settings = Settings(smtp_host="127.0.0.1", compliance_email="ducha@tj.gov.cn")
    told = build_recipients(settings, registry)
    assert [n.recipient for n in told.notices(_event())] == ["lm@nk.cn", "ducha@tj.gov.cn"]
    assert build_recipients(Settings(), registry).notices(_event()) == []


def test_the_message_is_chinese_first_with_the_english_below() -> None:
    event = NoticeEvent(
        NoticeKind.REVIEW_RETURNED,
        "dlv_1",
        AT,
        filing_id="fil_1",
        org_code=NANKAI_OFFICE,
        detail={"return_reason": "缺少第三部分"},
    )
    msg = message(event, "disclosure@tj.gov.cn", "lm@nk.cn", event.event_id)
    assert msg["Subject"] == "【政府信息公开报送】报告被退回，请更正：fil_1"
    text = msg.get_content()
    assert text.index("报告被退回") < text.index("Report returned") < text.index("缺少第三部分")
    assert msg["Message-ID"] == message(event, "x@y.cn", "lm@nk.cn", event.event_id)["Message-ID"]
    assert msg["Message-ID"] != message(event, "x@y.cn", "zz@nk.cn", event.event_id)["Message-ID"]


@dataclass(frozen=True)
class Row:
    org_code: str
    org_name: str
    category: str
    kind: str | None
    period: str
    due_on: date | None
    state: str


def _rows() -> list[Row]:
    return [
        Row(NANKAI_OFFICE, "合作交流办", "rule_of_law_report", None, "2023", date(2024, 3, 31), "not_yet_due"),
        Row(NANKAI_OFFICE, "合作交流办", "budget_final_accounts", "budget", "2024", date(2024, 5, 1), "not_yet_due"),
        Row(OTHER_BODY, "司法局", "gov_info_annual_report", None, "2023", date(2024, 1, 31), "missing"),
        Row(OTHER_BODY, "司法局", "rule_of_law_report", None, "2023", date(2024, 3, 31), "on_time"),
        Row(OTHER_BODY, "司法局", "leadership", None, "2024", date(2024, 2, 1), "late"),
    ]  # fmt: skip


def test_a_deadline_near_or_missed_is_told_once_however_often_the_board_runs() -> None:
    catalog, clock = MemoryCatalog(clock=FakeClock()), FakeClock()
    told = Recipients(webhook=True)
    as_of = date(2024, 3, 25)
    assert notify_deadlines(catalog, told, _rows(), as_of=as_of, notice_days=7, now=clock()) == 2
    kinds = {(n.kind, n.subject) for n in catalog.notifications()}
    assert kinds == {
        (NoticeKind.DEADLINE_APPROACHING, f"{NANKAI_OFFICE}/rule_of_law_report/2023"),
        (NoticeKind.DEADLINE_MISSED, f"{OTHER_BODY}/gov_info_annual_report/2023"),
    }
    next_day = date(2024, 3, 26)
    assert notify_deadlines(catalog, told, _rows(), as_of=next_day, notice_days=7, now=clock()) == 0


def test_damage_and_each_foreign_version_are_events_of_their_own() -> None:
    report = {
        "complete": True,
        "missing": [],
        "mismatched": [{"path": "data/r.pdf"}],
        "unreadable": [],
        "extra": [],
        "foreign": ["data/r.pdf: version v2", "manifest-sha256.txt: version v9"],
    }
    result = VersionFixity("fil_1", 1, "filings/x/v1/", False, report, NANKAI_OFFICE)
    events = fixity_events(result, AT)
    assert [(e.kind, e.subject) for e in events] == [
        (NoticeKind.FIXITY_FAILED, "fil_1/v1"),
        (NoticeKind.FOREIGN_VERSION, "filings/x/v1/data/r.pdf: version v2"),
        (NoticeKind.FOREIGN_VERSION, "filings/x/v1/manifest-sha256.txt: version v9"),
    ]
    only_foreign = {**report, "mismatched": [], "foreign": ["data/r.pdf: version v2"]}
    kinds = [e.kind for e in fixity_events(VersionFixity("f", 1, "p/", False, only_foreign), AT)]
    assert kinds == [NoticeKind.FOREIGN_VERSION]
    clean = {**report, "mismatched": [], "foreign": []}
    assert fixity_events(VersionFixity("f", 1, "p/", True, clean), AT) == []


def test_a_bodys_contacts_are_read_from_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "orgs.yaml"
    path.write_text(
        f"bodies:\n  - org_code: '{NANKAI_OFFICE}'\n    name: 南开区合作交流办\n"
        "    contacts: [{name: 李明, email: liming@nankai.gov.cn}]\n",
        encoding="utf-8",
    )
    body = load_registry(path, {}).get(NANKAI_OFFICE)
    assert body is not None and body.contacts == (Contact("李明", "liming@nankai.gov.cn"),)


@pytest.mark.parametrize(
    "contact", ["{name: 李明, email: 李明}", "{name: 李明, email: a@b}", "{email: a@b.cn}"]
)
def test_a_contact_without_a_usable_address_or_name_is_refused(
    tmp_path: Path, contact: str
) -> None:
    path = tmp_path / "orgs.yaml"
    path.write_text(
        f"bodies:\n  - org_code: '{NANKAI_OFFICE}'\n    name: 南开区\n    contacts: [{contact}]\n",
        encoding="utf-8",
    )
    with pytest.raises(RegistryError, match="contacts"):
        load_registry(path, {})


def test_settings_refuse_a_webhook_without_a_secret_and_a_bad_address() -> None:
    with pytest.raises(ValidationError, match="webhook_secret"):
        Settings(webhook_url="https://hooks.tj.gov.cn/x")
    with pytest.raises(ValidationError, match="compliance_email"):
        Settings(compliance_email="督察科")
    assert Settings(smtp_tls="tls").resolved_smtp_port == 465
    assert Settings(smtp_tls="starttls").resolved_smtp_port == 587
    assert Settings(smtp_tls="none", smtp_port=2525).resolved_smtp_port == 2525


@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        (
            {"webhook_url": "https://hooks.tj.gov.cn/x", "webhook_secret": "changeme"},
            "DISCLOSURE_WEBHOOK_SECRET",
        ),
        (
            {"webhook_url": "http://hooks.tj.gov.cn/x", "webhook_secret": "whsec_" + "Zk9v" * 8},
            "DISCLOSURE_WEBHOOK_URL is http://",
        ),
        (
            {"smtp_host": "mail.tj.gov.cn", "smtp_tls": "none", "smtp_password": "p" * 20},
            "DISCLOSURE_SMTP_TLS",
        ),
    ],
    ids=["weak webhook secret", "http webhook", "smtp password in clear"],
)
def test_production_refuses_forgeable_webhooks_and_clear_text_passwords(
    overrides: dict[str, object], mentions: str
) -> None:
    problems = _production(**overrides).production_problems()
    assert any(mentions in p for p in problems), problems


def test_production_accepts_a_webhook_to_an_allowed_http_host_with_a_strong_secret() -> None:
    settings = _production(
        webhook_url="http://hooks.intranet/x",
        webhook_secret="whsec_" + "Zk9vYmFyYmF6cXV4" * 2,
        allow_http_hosts=["hooks.intranet"],
        smtp_host="mail.tj.gov.cn",
        smtp_password="a-real-mail-password-1",
    )
    assert settings.production_problems() == []

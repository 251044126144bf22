"""The catalog's outbox of notifications, as a contract: on SQLite, on PostgreSQL and in
memory. An event is queued once per channel and recipient however often it is raised,
with the state change that raises it; a claim fences its settlement."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import AttemptRecord, AuditEvent, FixityCheck
from service.catalog.sql import SqlCatalog
from service.domain.filing import DeliveryStatus, ReviewState
from service.domain.notifications import (
    Channel,
    NoticeEvent,
    NoticeKind,
    NotificationStatus,
    Recipients,
)
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.integration.test_catalog import LEASE, ORG, _submit
from tests.support.clock import FakeClock

TOLD = Recipients(
    contacts={ORG: ["liming@binhe.gov.cn"]},
    compliance=["ducha@binhe.gov.cn"],
    email=True,
    webhook=True,
)


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


def _event(clock: FakeClock, subject: str = "dlv_1") -> NoticeEvent:
    return NoticeEvent(NoticeKind.DELIVERY_FAILED, subject, clock(), filing_id="f1", org_code=ORG)


def test_an_event_is_queued_once_per_channel_and_recipient_however_often_it_is_raised(
    catalog: Catalog, clock: FakeClock
) -> None:
    assert catalog.enqueue_notifications(TOLD.notices(_event(clock))) == 3
    clock.advance(60)
    assert catalog.enqueue_notifications(TOLD.notices(_event(clock))) == 0

    rows = catalog.notifications()
    assert sorted((r.channel, r.recipient) for r in rows) == [
        (Channel.EMAIL, "ducha@binhe.gov.cn"),
        (Channel.EMAIL, "liming@binhe.gov.cn"),
        (Channel.WEBHOOK, "webhook"),
    ]
    assert {r.event_id for r in rows} == {_event(clock).event_id}
    assert {r.status for r in rows} == {NotificationStatus.PENDING}


def test_another_subject_or_kind_is_another_event(catalog: Catalog, clock: FakeClock) -> None:
    returned = NoticeEvent(NoticeKind.REVIEW_RETURNED, "dlv_1", clock(), org_code=ORG)
    catalog.enqueue_notifications(TOLD.notices(_event(clock)))
    assert catalog.enqueue_notifications(TOLD.notices(_event(clock, "dlv_2"))) == 3
    assert catalog.enqueue_notifications(TOLD.notices(returned)) == 3
    assert len({r.event_id for r in catalog.notifications()}) == 3


def test_a_claimed_notification_is_settled_only_under_its_lease(
    catalog: Catalog, clock: FakeClock
) -> None:
    catalog.enqueue_notifications([TOLD.notices(_event(clock))[0]])
    [claimed] = catalog.claim_due_notifications("n1", 10, LEASE)
    assert catalog.claim_due_notifications("n2", 10, LEASE) == []
    clock.advance(LEASE.total_seconds() + 1)
    [taken] = catalog.claim_due_notifications("n2", 10, LEASE)
    assert claimed.lease_owner is not None and taken.lease_owner is not None

    assert not catalog.settle_notification(
        claimed.id, claimed.lease_owner, status=NotificationStatus.SENT, next_attempt_at=None
    )
    assert catalog.settle_notification(
        taken.id,
        taken.lease_owner,
        status=NotificationStatus.SENT,
        next_attempt_at=None,
        event=AuditEvent("notifier:n2", "system", "notification.sent", taken.event_id),
    )
    [row] = catalog.notifications()
    assert (row.status, row.attempts, row.sent_at) == (NotificationStatus.SENT, 1, clock())
    assert "notification.sent" in [e.action for e in catalog.audit_events()]
    assert catalog.claim_due_notifications("n3", 10, LEASE) == []


def test_a_notification_to_retry_waits_for_its_next_attempt(
    catalog: Catalog, clock: FakeClock
) -> None:
    catalog.enqueue_notifications([TOLD.notices(_event(clock))[0]])
    [claimed] = catalog.claim_due_notifications("n1", 10, LEASE)
    assert claimed.lease_owner is not None
    catalog.settle_notification(
        claimed.id,
        claimed.lease_owner,
        status=NotificationStatus.PENDING,
        next_attempt_at=clock() + timedelta(seconds=30),
        last_error="webhook_unavailable: HTTP 503",
    )
    assert catalog.claim_due_notifications("n1", 10, LEASE) == []
    clock.advance(30)
    [again] = catalog.claim_due_notifications("n1", 10, LEASE)
    assert (again.attempts, again.last_error) == (1, "webhook_unavailable: HTTP 503")
    assert again.first_attempt_at == claimed.first_attempt_at


def test_a_delivery_failing_for_good_queues_its_notices_with_the_settlement(
    catalog: Catalog, clock: FakeClock
) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert delivery.lease_owner is not None
    attempt = AttemptRecord(1, "w1", clock(), 5, "failed", 400, "rejected", "no")
    notices = TOLD.notices(_event(clock, delivery.id))

    assert catalog.finish_attempt(
        delivery.id,
        delivery.lease_owner,
        attempt,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        notices=notices,
    )
    assert len(catalog.notifications()) == 3


def test_a_worker_that_lost_its_lease_queues_no_notices(catalog: Catalog, clock: FakeClock) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    clock.advance(LEASE.total_seconds() + 1)
    catalog.claim_due_deliveries("w2", 10, LEASE)
    attempt = AttemptRecord(1, "w1", clock(), 5, "failed", 400, "rejected", "no")
    assert delivery.lease_owner is not None
    assert not catalog.finish_attempt(
        delivery.id,
        delivery.lease_owner,
        attempt,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        notices=TOLD.notices(_event(clock, delivery.id)),
    )
    assert catalog.notifications() == []


def test_a_returned_review_recorded_twice_is_one_event(catalog: Catalog, clock: FakeClock) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    returned = NoticeEvent(NoticeKind.REVIEW_RETURNED, delivery.id, clock(), org_code=ORG)
    for _ in range(2):
        catalog.record_review(
            delivery.id,
            status=ReviewState.RETURNED,
            reason="缺少第三部分",
            notices=TOLD.notices(returned),
        )
        clock.advance(3600)
    assert len(catalog.notifications(returned.event_id)) == 3


def test_a_failed_fixity_check_queues_its_notices_with_the_check(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid, number = _submit(catalog)
    damaged = NoticeEvent(NoticeKind.FIXITY_FAILED, f"{fid}/v{number}", clock(), fid, ORG)
    check = FixityCheck(fid, number, clock(), "audit:tick", False, {"missing": ["data/x"]})
    catalog.record_fixity(check, None, TOLD.notices(damaged))
    catalog.record_fixity(check, None, TOLD.notices(damaged))
    assert [r.kind for r in catalog.notifications(damaged.event_id)] == [
        NoticeKind.FIXITY_FAILED
    ] * 3

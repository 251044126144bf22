"""The sender on the fakes of its ports: the catalog in memory, channels that answer from
a script. A notification is retried along the schedule until the give-up age, then
recorded failed; a channel that crashes or is not configured loses nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from service import metrics
from service.catalog.records import NotificationRecord
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, Outcome, RetryLater
from service.domain.notifications import (
    Channel,
    NoticeEvent,
    NoticeKind,
    NotificationStatus,
    Recipients,
)
from service.notifications.port import NotificationChannel
from service.notifications.sender import NotificationSender, SenderConfig
from tests.fakes import MemoryCatalog
from tests.support.clock import FakeClock

POLICY = RetryPolicy.of_seconds([10, 60], give_up_after=100)


@dataclass
class ScriptedChannel:
    answers: list[Outcome | Exception]
    channel: Channel = Channel.WEBHOOK
    seen: list[str] = field(default_factory=list)

    def send(self, notification: NotificationRecord) -> Outcome:
        self.seen.append(notification.event_id)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _setup(
    channels: dict[Channel, NotificationChannel],
) -> tuple[MemoryCatalog, FakeClock, NotificationSender]:
    clock = FakeClock()
    catalog = MemoryCatalog(clock=clock)
    event = NoticeEvent(NoticeKind.DELIVERY_FAILED, "dlv_1", clock(), filing_id="fil_1")
    catalog.enqueue_notifications(Recipients(webhook=True).notices(event))
    config = SenderConfig("n1", POLICY)
    return (
        catalog,
        clock,
        NotificationSender(catalog=catalog, channels=channels, config=config, clock=clock),
    )


def test_a_notification_is_retried_along_the_schedule_then_recorded_failed() -> None:
    down = RetryLater("webhook_unavailable", "HTTP 503", http_status=503)
    channel = ScriptedChannel([down] * 4)
    catalog, clock, sender = _setup({Channel.WEBHOOK: channel})

    before = {o: _attempts_counted(o) for o in ("retry", "failed", "sent")}
    tried_at: list[int] = []
    for second in range(0, 200):
        if sender.drain():
            tried_at.append(second)
        clock.advance(1)

    assert tried_at == [0, 10, 70]  # then 130 would be past the give-up age of 100 s
    [row] = catalog.notifications()
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 3)
    assert row.last_error == "webhook_unavailable: HTTP 503"
    [failed] = [e for e in catalog.audit_events() if e.action == "notification.failed"]
    assert failed.detail["filing_id"] == "fil_1" and failed.detail["attempts"] == 3
    counted = {o: _attempts_counted(o) - before[o] for o in before}
    assert counted == {"retry": 2, "failed": 1, "sent": 0}  # what /metrics shows


def _attempts_counted(outcome: str) -> float:
    labels = {"kind": "delivery.failed", "channel": "webhook", "outcome": outcome}
    value = metrics.REGISTRY.get_sample_value("disclosure_notification_attempts_total", labels)
    return value or 0.0


def test_a_channel_that_crashes_is_tried_again() -> None:
    channel = ScriptedChannel([RuntimeError("bug"), Delivered({})])
    catalog, clock, sender = _setup({Channel.WEBHOOK: channel})
    sender.drain()
    clock.advance(10)
    sender.drain()
    [row] = catalog.notifications()
    assert (row.status, row.attempts) == (NotificationStatus.SENT, 2)
    assert len(channel.seen) == 2


def test_a_channel_not_configured_keeps_the_notification_for_when_it_is() -> None:
    catalog, _, sender = _setup({})
    sender.drain()
    [row] = catalog.notifications()
    assert row.status is NotificationStatus.PENDING
    assert (row.last_error or "").startswith("channel_not_configured")

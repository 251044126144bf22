"""The sender: drains the outbox of notifications through the channels, one lease per
notification, every attempt counted and the retry decided as for deliveries
(service.delivery.policy). It runs beside the delivery worker (its own thread) and in
each `disclosure tick`; a filing never waits on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from service import metrics
from service.catalog.ports import NotificationCatalog
from service.catalog.records import AuditEvent, NotificationRecord
from service.delivery.policy import Action, Decision, RetryPolicy, decide
from service.delivery.port import Failed, Outcome, RetryLater
from service.domain.errors import Unavailable
from service.domain.notifications import Channel, NotificationStatus
from service.notifications.port import NotificationChannel

log = structlog.get_logger()
MESSAGE_LIMIT = 500  # the stored error: enough to diagnose, bounded in size
MAX_DRAIN_ROUNDS = 100  # a tick is bounded; what is left waits for the next one

_STATUS = {
    Action.DONE: NotificationStatus.SENT,
    Action.RETRY: NotificationStatus.PENDING,
    Action.GIVE_UP: NotificationStatus.FAILED,
}


@dataclass(frozen=True)
class SenderConfig:
    worker_id: str
    policy: RetryPolicy
    lease: timedelta = timedelta(minutes=5)
    batch: int = 20
    poll_s: float = 5.0


class NotificationSender:
    def __init__(
        self,
        *,
        catalog: NotificationCatalog,
        channels: Mapping[Channel, NotificationChannel],
        config: SenderConfig,
        clock: Callable[[], datetime],
    ) -> None:
        self._catalog = catalog
        self._channels = channels
        self._config = config
        self._clock = clock

    def run_once(self) -> int:
        """Send one batch of due notifications; how many were tried."""
        claimed = self._catalog.claim_due_notifications(
            self._config.worker_id, self._config.batch, self._config.lease
        )
        for notification in claimed:
            self.process(notification)
        return len(claimed)

    def drain(self) -> int:
        """Send what is due now, in bounded rounds (a tick)."""
        sent = 0
        for _ in range(MAX_DRAIN_ROUNDS):
            tried = self.run_once()
            if tried == 0:
                break
            sent += tried
        return sent

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set; an unreachable catalog is logged and tried again."""
        log.info("notification_sender_started", worker=self._config.worker_id)
        while not stop.is_set():
            try:
                tried = self.run_once()
            except Unavailable:
                log.warning("notification_claim_failed_catalog_unavailable")
                tried = 0
            except Exception:  # a failed round must not end the loop; its leases run out
                log.exception("notification_round_failed")
                tried = 0
            if tried == 0:
                stop.wait(self._config.poll_s)
        log.info("notification_sender_stopped", worker=self._config.worker_id)

    def process(self, notification: NotificationRecord) -> None:
        now = self._clock()
        outcome = self._send(notification)
        decision = decide(
            outcome,
            attempts=notification.attempts + 1,
            first_attempt_at=notification.first_attempt_at or now,
            now=self._clock(),
            policy=self._config.policy,
        )
        error = None if decision.action is Action.DONE else _error(outcome)
        assert notification.lease_owner is not None, "settled only under a claim"
        held = self._catalog.settle_notification(
            notification.id,
            notification.lease_owner,
            status=_STATUS[decision.action],
            next_attempt_at=decision.next_attempt_at,
            last_error=error,
            event=self._audit(notification, decision, error),
        )
        outcome_label = {Action.DONE: "sent", Action.RETRY: "retry"}.get(decision.action, "failed")
        metrics.NOTIFICATION_ATTEMPTS.labels(
            notification.kind.value, notification.channel.value, outcome_label
        ).inc()
        log.info(
            "notification_attempt",
            notification_id=notification.id,
            event_id=notification.event_id,
            kind=notification.kind.value,
            channel=notification.channel.value,
            action=decision.action.value,
            error=error,
            next_attempt_at=decision.next_attempt_at,
            lease_held=held,
        )

    def _send(self, notification: NotificationRecord) -> Outcome:
        channel = self._channels.get(notification.channel)
        if channel is None:  # configured later, it goes then (until the give-up age)
            return RetryLater("channel_not_configured", f"no {notification.channel} channel")
        try:
            return channel.send(notification)
        except Exception as exc:  # a channel bug must not end the loop or lose the row
            log.exception("notification_send_crashed", notification_id=notification.id)
            return RetryLater("sender_error", repr(exc)[:MESSAGE_LIMIT])

    def _audit(
        self, notification: NotificationRecord, decision: Decision, error: str | None
    ) -> AuditEvent | None:
        if decision.action is Action.RETRY:
            return None
        sent = decision.action is Action.DONE
        return AuditEvent(
            actor=f"notifier:{self._config.worker_id}",
            role="system",
            action="notification.sent" if sent else "notification.failed",
            subject=f"{notification.event_id}/{notification.channel.value}",
            org_code=notification.org_code,
            detail={
                "kind": notification.kind.value,
                "about": notification.subject,
                "filing_id": notification.filing_id,
                "recipient": notification.recipient,
                "attempts": notification.attempts + 1,
                "error": error,
            },
        )


def _error(outcome: Outcome) -> str | None:
    if isinstance(outcome, RetryLater | Failed):
        return f"{outcome.code}: {outcome.message}"[:MESSAGE_LIMIT]
    return None

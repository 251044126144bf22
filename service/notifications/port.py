"""The `NotificationChannel` port: send one notification to one recipient.

A channel never raises for a remote failure; it answers with the delivery port's
outcomes, so the same retry decision (service.delivery.policy) applies:

    Delivered({...})     the recipient's server took it
    RetryLater(...)      transient (a timeout, a 5xx, a 4xx SMTP reply): sent again later
    Failed(...)          permanent (a refused recipient, a 4xx from the webhook)
"""

from __future__ import annotations

from typing import Protocol

from service.catalog.records import NotificationRecord
from service.delivery.port import Outcome
from service.domain.notifications import Channel


class NotificationChannel(Protocol):
    channel: Channel

    def send(self, notification: NotificationRecord) -> Outcome: ...

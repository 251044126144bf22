"""The e-mail channel: one message per notification over SMTP (smtplib), Subject in
Chinese, the text in Chinese with the English below. The only module that speaks SMTP.

    SMTP answer                                  outcome
    250 for the recipient                        Delivered
    5xx for the recipient, the sender or DATA    Failed (permanent: recorded, not retried)
    4xx, a refused login, no STARTTLS            RetryLater
    connection refused, reset, timeout, TLS      RetryLater
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Literal

from service.catalog.records import NotificationRecord
from service.delivery.port import Delivered, Outcome
from service.delivery.quick_retry import Permanent, QuickRetryPolicy, Transient, quick_retry
from service.domain.notifications import Channel, NoticeEvent

SUBJECT_PREFIX = "【政府信息公开报送】"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: Literal["none", "starttls", "tls"]
    sender: str
    username: str | None = None
    password: str | None = None
    timeout_s: float = 30.0
    ca_file: str | None = None  # the CAs to trust (an intranet's own); None: the system's


def message(event: NoticeEvent, sender: str, recipient: str, event_id: str) -> EmailMessage:
    """The message; its Message-ID is the same for every retry to one recipient, so a
    server or client that saw it once can drop a repeat."""
    msg = EmailMessage()
    msg["Subject"] = f"{SUBJECT_PREFIX}{event.title_zh}：{event.filing_id or event.subject}"
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(event.occurred_at.timestamp(), usegmt=True)
    per_recipient = hashlib.sha256(recipient.encode()).hexdigest()[:12]
    msg["Message-ID"] = f"<{event_id}.{per_recipient}@disclosure.invalid>"
    msg["X-Disclosure-Event-Id"] = event_id
    msg["X-Disclosure-Event-Type"] = event.kind.value
    msg.set_content(event.text())
    return msg


class SmtpChannel:
    channel = Channel.EMAIL

    def __init__(
        self,
        config: SmtpConfig,
        quick: QuickRetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = config
        self._quick = quick
        self._sleep = sleep

    def send(self, notification: NotificationRecord) -> Outcome:
        msg = message(
            notification.event,
            self._config.sender,
            notification.recipient,
            notification.event_id,
        )
        return quick_retry(
            lambda: self._send(msg, notification.recipient), self._quick, sleep=self._sleep
        )

    def _send(self, msg: EmailMessage, recipient: str) -> Outcome:
        try:
            with self._connect() as smtp:
                if self._config.username and self._config.password is not None:
                    smtp.login(self._config.username, self._config.password)
                smtp.send_message(msg, from_addr=self._config.sender, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()), (0, b""))
            raise _by_code("recipient_refused", code, reply) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise _by_code("message_refused", exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise Transient("smtp_login_refused", f"{exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # ssl.SSLError and timeouts too
            raise Transient("smtp_unavailable", f"{type(exc).__name__}: {exc}") from exc
        return Delivered({"recipient": recipient, "message_id": msg["Message-ID"]})

    def _tls_context(self) -> ssl.SSLContext:
        """Certificates and host names verified, always: a relay that cannot show a
        certificate this installation trusts gets no password and no message."""
        return ssl.create_default_context(cafile=self._config.ca_file)

    def _connect(self) -> smtplib.SMTP:
        c = self._config
        if c.tls == "tls":
            context = self._tls_context()
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout_s, context=context)
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout_s)
        if c.tls == "starttls":
            try:
                smtp.starttls(context=self._tls_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def _by_code(what: str, code: int, reply: bytes | str) -> Permanent | Transient:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    if 500 <= code < 600:
        return Permanent(what, f"{code} {text}")
    return Transient(what, f"{code} {text}")

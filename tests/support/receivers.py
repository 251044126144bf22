"""Real receivers of notifications on 127.0.0.1: an SMTP server (aiosmtpd) that keeps
every message it accepts, and a webhook receiver (http.server in a thread) that
answers from a script and keeps every request.

    with smtp_server(refuse={"nobody@binhe.gov.cn"}) as mail:      # 550 for that one
        ... mail.port, mail.messages (email.message.EmailMessage, in order)
    with webhook_receiver([503, 200]) as hook:                       # then 200 for ever
        ... hook.url, hook.requests (headers, body, the status answered)
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.support.servers import free_port


@dataclass
class SmtpInbox:
    port: int
    refuse: frozenset[str]
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_RCPT(  # aiosmtpd's hook names
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class SmtpTls:
    """How the server speaks TLS: STARTTLS (required before MAIL) or implicit TLS, with
    a certificate; `login`: the only user and password it accepts (over TLS only)."""

    mode: Literal["starttls", "tls"]
    cert: Path
    key: Path
    login: tuple[str, str] | None = None


@contextmanager
def smtp_server(
    refuse: frozenset[str] = frozenset(), tls: SmtpTls | None = None
) -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(free_port(), refuse)
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **_tls_kwargs(tls))
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def _tls_kwargs(tls: SmtpTls | None) -> dict[str, Any]:
    if tls is None:
        return {}
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    kwargs: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True}
        if tls.mode == "starttls"
        else {"ssl_context": context}
    )
    if tls.login is not None:
        # aiosmtpd does not count implicit TLS as TLS when it offers AUTH: there the
        # whole connection is TLS anyway, so it need not ask
        kwargs |= {
            "authenticator": _Authenticator(tls.login),
            "auth_required": True,
            "auth_require_tls": tls.mode == "starttls",
        }
    return kwargs


@dataclass(frozen=True)
class _Authenticator:
    login: tuple[str, str]

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self.login)


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class WebhookInbox:
    url: str
    script: list[int]
    requests: list[Received] = field(default_factory=list)

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]


def _handler(inbox: WebhookInbox, lock: threading.Lock) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with lock:
                status = inbox.script.pop(0) if inbox.script else 200
                headers = {k.lower(): v for k, v in self.headers.items()}
                inbox.requests.append(Received(headers, body, status))
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


@contextmanager
def webhook_receiver(script: list[int] | None = None) -> Iterator[WebhookInbox]:
    inbox = WebhookInbox("", list(script or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(inbox, threading.Lock()))
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/disclosure"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()

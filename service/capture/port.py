"""The port through which a capture fetches a published page: one HTTP exchange, as
received (no redirect followed: the use case follows them, host by host)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Exchange:
    """One request and what came back, byte for byte (for the WARC)."""

    url: str
    at: datetime
    request_line: str = ""  # "GET /path HTTP/1.1"
    request_headers: tuple[tuple[str, str], ...] = ()
    status: int | None = None  # None: no answer (`error` says why)
    status_line: str = ""  # "HTTP/1.1 200 OK"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = field(default=b"", repr=False)
    truncated: bool = False  # the body was cut at the size bound
    error: str | None = None  # host_not_allowed, connect_error, timeout, …

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class PageFetcher(Protocol):
    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Exchange:
        """GET `url` once (only a configured host; never follows a redirect)."""
        ...

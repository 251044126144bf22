"""The page fetcher (service.capture.port.PageFetcher) on httpx: GET with
`Accept-Encoding: identity`, only to the hosts of configured destinations, no redirect
followed, the body cut at `max_bytes` and the whole exchange at `timeout_s`.

    fetcher = HttpFetcher(FetchConfig(allowed_hosts={"www.tj.gov.cn"}), clock=utcnow)
    fetcher.fetch("https://www.tj.gov.cn/…/art_1.html", {"If-None-Match": '"abc"'})
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import structlog

from service.capture.port import Exchange

log = structlog.get_logger()
USER_AGENT = "disclosure-service-capture/1 (proof of publication)"


@dataclass(frozen=True)
class FetchConfig:
    allowed_hosts: frozenset[str]  # host[:port] of configured destinations
    max_bytes: int = 8 * 1024 * 1024
    timeout_s: float = 30.0


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc or "").lower().rsplit("@", 1)[-1]


def allowed(url: str, hosts: frozenset[str]) -> bool:
    return urlsplit(url).scheme in {"http", "https"} and host_of(url) in hosts


class HttpFetcher:
    def __init__(
        self,
        config: FetchConfig,
        *,
        clock: Callable[[], datetime],
        client: httpx.Client | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._client = client or httpx.Client(follow_redirects=False, trust_env=False)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> Exchange:
        at = self._clock()
        if not allowed(url, self._config.allowed_hosts):
            return Exchange(url, at, error="host_not_allowed")
        sent = {"Accept-Encoding": "identity", "User-Agent": USER_AGENT, **(headers or {})}
        try:
            request = self._client.build_request("GET", url, headers=sent)
            return self._send(request, at)
        except httpx.TimeoutException:
            return Exchange(url, at, error="timeout")
        except (httpx.HTTPError, ValueError) as exc:
            log.info("capture_fetch_failed", url=url, error=type(exc).__name__)
            return Exchange(url, at, error="connect_error")

    def _send(self, request: httpx.Request, at: datetime) -> Exchange:
        deadline = time.monotonic() + self._config.timeout_s
        timeout = httpx.Timeout(self._config.timeout_s)
        request.extensions["timeout"] = timeout.as_dict()
        response = self._client.send(request, stream=True, follow_redirects=False)
        try:
            body, truncated = self._body(response, deadline)
        finally:
            response.close()
        target = request.url.raw_path.decode("ascii")
        return Exchange(
            str(request.url), at,
            request_line=f"GET {target} HTTP/1.1",
            request_headers=tuple((k.decode("latin-1"), v.decode("latin-1"))
                                  for k, v in request.headers.raw),
            status=response.status_code,
            status_line=f"{response.http_version} {response.status_code} "
                        f"{response.reason_phrase}".rstrip(),
            headers=tuple((k.decode("latin-1"), v.decode("latin-1"))
                          for k, v in response.headers.raw),
            body=body, truncated=truncated,
        )  # fmt: skip

    def _body(self, response: httpx.Response, deadline: float) -> tuple[bytes, bool]:
        """The body as received (no decoding), cut at `max_bytes` or the deadline."""
        kept = bytearray()
        for chunk in response.iter_raw(64 * 1024):
            kept += chunk
            if len(kept) > self._config.max_bytes or time.monotonic() > deadline:
                return bytes(kept[: self._config.max_bytes]), True
        return bytes(kept), False

    def close(self) -> None:
        self._client.close()

"""The platform's HTTP edge: access tokens per account (a process-wide single flight) and
one call, whose errcode is read on every answer (errors come back as HTTP 200).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from service.delivery.quick_retry import Permanent, Transient, truncate
from service.delivery.wechat.protocol import (
    ERRCODES,
    Answer,
    Log,
    QuotaReached,
    WeChatAccount,
    classified,
)


class _Token:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # one refresh at a time for the account
        self.value: str | None = None
        self.valid_until = 0.0


class TokenCache:
    """Access tokens by (base URL, appid), shared by every adapter in the process: a thread
    that finds one missing or expired waits for the one refresh under way instead of starting
    its own. A refresh never asks for `force_refresh` (20 a day): a token the platform calls
    invalid is dropped and a new one asked for the ordinary way."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, str], _Token] = {}

    def get(
        self, key: tuple[str, str], fetch: Callable[[], tuple[str, float]], margin: float
    ) -> str:
        token = self._slot(key)
        with token.lock:
            if token.value is None or self._clock() >= token.valid_until:
                value, expires_in = fetch()
                lifetime = expires_in - margin if expires_in > 2 * margin else expires_in / 2
                token.value, token.valid_until = value, self._clock() + lifetime
            return token.value

    def discard(self, key: tuple[str, str], value: str) -> None:
        """Forget `value` — unless another thread has already replaced it."""
        token = self._slot(key)
        with token.lock:
            if token.value == value:
                token.value = None

    def _slot(self, key: tuple[str, str]) -> _Token:
        with self._lock:
            return self._tokens.setdefault(key, _Token())


PROCESS_TOKENS = TokenCache()


class WeChatApi:
    """Calls for one adapter: `call(account, endpoint, json=…)` returns the answer's JSON
    object when its errcode is 0 (or absent), and raises otherwise:

        errcode -1, HTTP 5xx, 408, 429, timeout, reset,   Transient
        an answer that is not a JSON object
        40001, 40014, 42001                                a new token, the call once more;
                                                           again → Transient
        45009 (45028)                                      QuotaReached (until 00:00 Shanghai)
        40164, 89503, 48001 and the permanent rows         Permanent
    """

    def __init__(
        self,
        base_url: str,
        client: httpx.Client,
        *,
        timeout_s: float,
        token_margin_s: float,
        tokens: TokenCache,
        now: Callable[[], datetime],
    ) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._client = client
        self._timeout_s = timeout_s
        self._margin = token_margin_s
        self._tokens = tokens
        self._now = now
        self._exhausted: dict[tuple[str, str], QuotaReached] = {}  # (appid, endpoint) → 45009
        self._lock = threading.Lock()

    def call(
        self,
        log: Log,
        account: WeChatAccount,
        endpoint: str,
        *,
        json_body: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """`accept`: errcodes the caller reads itself (45065 for a repeated mass message)."""
        self._refuse_if_exhausted(account.appid, endpoint)
        key = (self._base, account.appid)
        token = self._token(log, account)
        answer = self._send(log, endpoint, token, json_body, files, params)
        if ERRCODES.get(_errcode(answer)) is Answer.TOKEN:
            self._tokens.discard(key, token)
            answer = self._send(log, endpoint, self._token(log, account), json_body, files, params)
        code = _errcode(answer)
        if code == 0 or code in accept:
            return answer
        if ERRCODES.get(code) is Answer.TOKEN:
            raise Transient(f"wechat_{code}", f"{endpoint}: a fresh token was refused at once")
        error = classified(code, str(answer.get("errmsg") or ""), endpoint, self._now())
        if isinstance(error, QuotaReached):
            with self._lock:
                self._exhausted[(account.appid, endpoint)] = error
        raise error

    def _refuse_if_exhausted(self, appid: str, endpoint: str) -> None:
        """An endpoint whose daily quota the account used up is not called before the
        next day: the 45009 it answered is raised again instead."""
        with self._lock:
            known = self._exhausted.get((appid, endpoint))
            if known is not None and known.until <= self._now():
                del self._exhausted[(appid, endpoint)]
                known = None
        if known is not None:
            raise QuotaReached(known.code, known.message, known.until)

    def _token(self, log: Log, account: WeChatAccount) -> str:
        return self._tokens.get(
            (self._base, account.appid), lambda: self._fetch_token(log, account), self._margin
        )

    def _fetch_token(self, log: Log, account: WeChatAccount) -> tuple[str, float]:
        body = {
            "grant_type": "client_credential",
            "appid": account.appid,
            "secret": account.secret,
            "force_refresh": False,
        }
        answer = self._post(log, "stable_token", {}, content=_json(body), appid=account.appid)
        code = _errcode(answer)
        if code != 0:
            if ERRCODES.get(code) is Answer.TOKEN:  # the token endpoint itself: retry later
                raise Transient(f"wechat_{code}", "stable_token refused the credentials")
            raise classified(code, str(answer.get("errmsg") or ""), "stable_token", self._now())
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise Transient("bad_response", "stable_token: no access_token", http_status=200)
        expires_in = answer.get("expires_in")
        return token, float(expires_in) if isinstance(expires_in, int | float) else 7200.0

    def _send(
        self,
        log: Log,
        endpoint: str,
        token: str,
        json_body: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        params: Mapping[str, str] | None,
    ) -> dict[str, Any]:
        query = {**(params or {}), "access_token": token}
        if files is not None:
            return self._post(log, endpoint, query, files=files)
        return self._post(log, endpoint, query, content=_json(json_body or {}))

    def _post(
        self,
        log: Log,
        endpoint: str,
        params: Mapping[str, str],
        *,
        content: bytes | None = None,
        files: Mapping[str, Any] | None = None,
        appid: str | None = None,
    ) -> dict[str, Any]:
        started = time.monotonic()
        headers = {"Content-Type": "application/json; charset=utf-8"} if content else {}
        try:
            response = self._client.post(
                self._base + endpoint, params=dict(params), content=content, files=files,
                headers=headers, timeout=self._timeout_s,
            )  # fmt: skip
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise Permanent("bad_base_url", f"configuration: {exc}") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            log.warning("wechat.call", endpoint=endpoint, error=type(exc).__name__,
                        elapsed_ms=_ms(started))  # fmt: skip
            raise Transient("transport_error", f"{endpoint}: {type(exc).__name__}: {exc}") from exc
        answer = _answer(endpoint, response)
        log.info(
            "wechat.call", endpoint=endpoint, http_status=response.status_code,
            errcode=_errcode(answer), elapsed_ms=_ms(started),
        )  # fmt: skip
        return answer


def _answer(endpoint: str, response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status >= 500 or status in (408, 429):
        raise Transient(f"http_{status}", f"{endpoint}: {_text(response)}", http_status=status)
    if status != 200:
        raise Permanent(
            f"http_{status}", f"configuration? {endpoint}: {_text(response)}", http_status=status
        )
    try:
        value = response.json()
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise Transient("bad_response", f"{endpoint}: not a JSON object", http_status=status)
    code = value.get("errcode", 0)
    if isinstance(code, str) and code.lstrip("-").isdigit():
        value["errcode"] = int(code)
    elif not isinstance(code, int) or isinstance(code, bool):  # never read as success
        raise Transient("bad_response", f"{endpoint}: errcode {code!r}", http_status=status)
    return value


def _errcode(answer: Mapping[str, Any]) -> int:
    code = answer.get("errcode", 0)
    return code if isinstance(code, int) and not isinstance(code, bool) else 0


def _json(body: Mapping[str, Any]) -> bytes:
    # UTF-8 as it is: the platform shows \\u escapes in an article as they are written.
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _text(response: httpx.Response) -> str:
    return truncate(response.text.strip(), 300) or response.reason_phrase


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


__all__ = ["PROCESS_TOKENS", "QuotaReached", "TokenCache", "WeChatApi"]

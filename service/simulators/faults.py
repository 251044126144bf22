"""Fault injection shared by the simulators: what can go wrong, how often, and an ASGI
middleware that makes it go wrong on the wire.

    kind               what the client sees
    http_500 … 504     that status, before the request is processed
    rate_limit         429 with `Retry-After: 1`, before the request is processed
    token_expired      401 token_expired; the simulator revokes the token (its `on_fault` hook)
    after_commit_503   the request IS processed, then 503 is answered: the response is lost
    drop_connection    the request IS processed, then the response is cut short and the
                       connection closed: httpx raises RemoteProtocolError
    slow               the handler waits `latency_ms` while processing (see `pause`)

`base_latency_ms` delays every request on a faulted endpoint, fault or not: a
destination that is simply far away.

    Kinds only some simulators speak (the legal platform's, WeChat's; a portal never draws them):
    platform_busy      the platform's own "busy" answer (by default like http_503)
    clock_skew         the request meets a clock set wrong (by default: no fault)
    system_busy        WeChat's errcode -1 (by default like http_503)
    ip_not_whitelisted WeChat's errcode 40164 (by default like http_503)

    Faults(failure_rate=0.3, kinds=("http_503", "drop_connection"), seed=7)

An app may answer a kind in its own words (`answers`): the legal platform's gateway errors
come as HTML, its rate limit and busy answers as HTTP 200 with a code in the body.

Each request the app's `plan` names an endpoint is a draw: with probability `failure_rate`
one of the kinds that endpoint allows is injected. Requests `plan` skips (the /_admin
routes) are never touched. An endpoint may have faults of its own (`POST /_admin/faults`
with `"endpoint": name`, the name the plan gives it); the others keep the default ones.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_FAULTS: Mapping[str, tuple[int, str]] = {
    "http_500": (500, "internal_error"),
    "http_502": (502, "bad_gateway"),
    "http_503": (503, "unavailable"),
    "http_504": (504, "gateway_timeout"),
}
FAULT_KINDS: tuple[str, ...] = (
    *HTTP_FAULTS,
    "rate_limit",
    "after_commit_503",
    "drop_connection",
    "token_expired",
    "slow",
)
# Kinds beyond FAULT_KINDS that some simulators speak; `Faults` accepts every known kind.
PLATFORM_FAULT_KINDS: tuple[str, ...] = (
    "platform_busy",
    "clock_skew",
    "system_busy",  # WeChat: errcode -1
    "ip_not_whitelisted",  # WeChat: errcode 40164
)
KNOWN_FAULT_KINDS: tuple[str, ...] = (*FAULT_KINDS, *PLATFORM_FAULT_KINDS)
RATE_LIMIT_RETRY_AFTER_S = 1

# The scope["state"] entry through which the middleware asks the handler to be slow.
_DELAY_KEY = "fault_delay_s"


@dataclass(frozen=True)
class Faults:
    failure_rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    latency_ms: int = 0
    seed: int | None = None
    base_latency_ms: int = 0  # every request on a faulted endpoint waits this long first

    def __post_init__(self) -> None:
        object.__setattr__(self, "kinds", tuple(self.kinds))  # JSON gives lists
        unknown = set(self.kinds) - set(KNOWN_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}; known: {KNOWN_FAULT_KINDS}")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be between 0 and 1")
        if self.latency_ms < 0 or self.base_latency_ms < 0:
            raise ValueError("latency_ms and base_latency_ms must not be negative")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        unknown = set(data) - {"failure_rate", "kinds", "latency_ms", "seed", "base_latency_ms"}
        if unknown:
            raise ValueError(f"unknown fields: {sorted(unknown)}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "kinds": list(self.kinds)}


class FaultDice:
    """Draws which fault, if any, a request gets. Seeded, so a run can be repeated.

    One set of faults for every endpoint, and optionally faults of an endpoint's own, each
    with its own random sequence."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self._own: dict[str, tuple[Faults, random.Random]] = {}
        self.set(faults)

    def set(self, faults: Faults, endpoint: str | None = None) -> None:
        """The default faults, or (`endpoint`) that endpoint's own."""
        with self._lock:
            if endpoint is None:
                self._faults = faults
                self._rng = random.Random(faults.seed)
            else:
                self._own[endpoint] = (faults, random.Random(faults.seed))

    def clear_endpoints(self) -> None:
        with self._lock:
            self._own.clear()

    @property
    def faults(self) -> Faults:
        return self._faults

    def faults_for(self, endpoint: str | None) -> Faults:
        with self._lock:
            own = self._own.get(endpoint) if endpoint is not None else None
            return own[0] if own is not None else self._faults

    def endpoints(self) -> dict[str, Faults]:
        with self._lock:
            return {name: faults for name, (faults, _) in sorted(self._own.items())}

    def roll(self, allowed: Collection[str], endpoint: str | None = None) -> str | None:
        with self._lock:
            own = self._own.get(endpoint) if endpoint is not None else None
            faults, rng = own if own is not None else (self._faults, self._rng)
            # Always draw, so the sequence of draws does not depend on which endpoints are hit.
            hit = rng.random() < faults.failure_rate
            kinds = sorted(set(faults.kinds) & set(allowed))
            return rng.choice(kinds) if hit and kinds else None


class Counters:
    """Thread-safe named counters; "a.b" names come out nested as {"a": {"b": n}}."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def inc(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._counts[name] += by

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        out: dict[str, Any] = {}
        for name, n in sorted(counts.items()):
            group, _, leaf = name.partition(".")
            if leaf:
                out.setdefault(group, {})[leaf] = n
            else:
                out[group] = n
        return out


@dataclass(frozen=True)
class FaultPlan:
    """What the app says about one request: its endpoint (for counting) and the faults it allows."""

    endpoint: str
    kinds: frozenset[str]


ErrorBody = Callable[[str, str], dict[str, Any]]  # (code, message) → the app's error JSON


@dataclass(frozen=True)
class FaultAnswer:
    """An app's own answer to an injected fault (see `FaultMiddleware`'s `answers`)."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[bytes, bytes], ...] = ()

    async def send(self, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status,
                "headers": [
                    (b"content-type", self.content_type.encode()),
                    (b"content-length", str(len(self.body)).encode()),
                    *self.headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.body})


# (kind, scope) → the app's answer for that kind, or None for the default answer. Asked for
# the kinds that answer instead of the app (and for after_commit_503's answer after it ran).
FaultAnswers = Callable[[str, Scope], FaultAnswer | None]


class FaultMiddleware:
    """Pure ASGI middleware injecting the drawn fault around the app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        dice: FaultDice,
        counters: Counters,
        plan: Callable[[Scope], FaultPlan | None],
        error_body: ErrorBody,
        on_fault: Callable[[str, Scope], None] | None = None,
        answers: FaultAnswers | None = None,
    ) -> None:
        self.app = app
        self.dice = dice
        self.counters = counters
        self.plan = plan
        self.error_body = error_body
        self.on_fault = on_fault
        self.answers = answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plan = self.plan(scope) if scope["type"] == "http" else None
        if plan is None:
            await self.app(scope, receive, send)
            return
        self.counters.inc("requests")
        self.counters.inc(f"requests_by_endpoint.{plan.endpoint}")
        faults = self.dice.faults_for(plan.endpoint)
        if faults.base_latency_ms:
            await asyncio.sleep(faults.base_latency_ms / 1000)
        kind = self.dice.roll(plan.kinds, plan.endpoint)
        if kind is None:
            await self.app(scope, receive, send)
            return
        self.counters.inc(f"faults.{kind}")
        if self.on_fault is not None:
            self.on_fault(kind, scope)
        await self._inject(kind, scope, receive, send, faults)

    async def _inject(
        self, kind: str, scope: Scope, receive: Receive, send: Send, faults: Faults
    ) -> None:
        answer = (
            self.answers(kind, scope)
            if self.answers is not None and kind not in ("slow", "drop_connection")
            else None
        )
        if answer is not None:
            if kind == "after_commit_503":
                await _run_captured(self.app, scope, receive)
            await answer.send(send)
        elif kind in ("platform_busy", "system_busy", "ip_not_whitelisted"):
            await self._error(send, 503, "unavailable", f"injected fault: {kind}")
        elif kind == "clock_skew":
            await self.app(scope, receive, send)
        elif kind in HTTP_FAULTS:
            status, code = HTTP_FAULTS[kind]
            await self._error(send, status, code, f"injected fault: {kind}")
        elif kind == "rate_limit":
            headers = [(b"retry-after", str(RATE_LIMIT_RETRY_AFTER_S).encode())]
            await self._error(send, 429, "rate_limited", "too many requests", headers)
        elif kind == "token_expired":
            headers = [(b"www-authenticate", b'Bearer error="invalid_token"')]
            await self._error(send, 401, "token_expired", "the token was revoked", headers)
        elif kind == "slow":
            scope.setdefault("state", {})[_DELAY_KEY] = faults.latency_ms / 1000
            await self.app(scope, receive, send)
        elif kind == "after_commit_503":
            await _run_captured(self.app, scope, receive)
            await self._error(send, 503, "unavailable", "injected fault: after_commit_503")
        elif kind == "drop_connection":
            await _send_truncated(send, await _run_captured(self.app, scope, receive))
        else:
            raise AssertionError(f"no answer for the fault kind {kind}")

    async def _error(
        self,
        send: Send,
        status: int,
        code: str,
        message: str,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        await send_json(send, status, self.error_body(code, message), headers)


async def pause(request: Request) -> None:
    """Where a handler is slow when the `slow` fault hit it.

    A handler calls this inside its processing window (e.g. while an idempotency key is
    marked in flight), so concurrent requests can observe that window.
    """
    delay = request.scope.setdefault("state", {}).pop(_DELAY_KEY, 0.0)
    if delay:
        await asyncio.sleep(delay)


async def send_json(
    send: Send,
    status: int,
    body: Mapping[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _run_captured(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    """Run the app to completion, keeping its response instead of sending it."""
    messages: list[Message] = []

    async def capture(message: Message) -> None:
        messages.append(message)

    await app(scope, receive, capture)
    return messages


async def _send_truncated(send: Send, messages: list[Message]) -> None:
    # Declare more bytes than are sent, send half the body and stop without finishing the
    # response: uvicorn then closes the connection (logging "ASGI callable returned without
    # completing response") and the client sees a body cut short.
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body) + 64).encode()))
    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
    await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})


def add_fault_admin_routes(
    router: APIRouter,
    dice: FaultDice,
    counters: Counters,
    reset: Callable[[], None],
    *,
    default_kinds: tuple[str, ...] = FAULT_KINDS,
    stats: Callable[[], dict[str, Any]] | None = None,
    endpoints: Collection[str] | None = None,
) -> None:
    """The admin routes every simulator has: read and set its faults, reset it, its counters.
    A POST of faults without `kinds` means every kind this simulator knows; with
    `"endpoint": name` (one of `endpoints`, when given) it sets that endpoint's own faults
    (the others keep the default). `stats` replaces the counters' snapshot as the answer of
    GET /stats."""

    @router.post("/faults")
    async def set_faults(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise ValueError("a JSON object is expected")
            endpoint = data.pop("endpoint", None)
            if endpoint is not None and not isinstance(endpoint, str):
                raise ValueError("endpoint must be a string")
            if endpoint is not None and endpoints is not None and endpoint not in endpoints:
                raise ValueError(f"unknown endpoint {endpoint!r}; known: {sorted(endpoints)}")
            faults = Faults.from_json({"kinds": default_kinds, **data})
        except (TypeError, ValueError) as exc:
            raise HTTPException(400, str(exc)) from exc
        dice.set(faults, endpoint)
        return faults.to_json() if endpoint is None else {**faults.to_json(), "endpoint": endpoint}

    @router.get("/faults")
    def get_faults() -> dict[str, Any]:
        endpoints = {name: f.to_json() for name, f in dice.endpoints().items()}
        return {**dice.faults.to_json(), "endpoints": endpoints}

    @router.post("/reset")
    def reset_all() -> dict[str, Any]:
        reset()  # also restores the faults the simulator started with
        return {"reset": True}

    @router.get("/stats")
    def get_stats() -> dict[str, Any]:
        return stats() if stats is not None else counters.snapshot()

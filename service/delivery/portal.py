"""The portal adapter: publishes a filing version as an article on the portal
(门户网站), speaking `contracts/portal.md`.

    deliver(job) ─▶ token (cached, shared by threads)
                 ─▶ attachment: uploaded once, its id journaled at once
                 ─▶ article body: built once, journaled before the first POST
                 ─▶ POST …/articles with the delivery's Idempotency-Key ─▶ receipt

Every later attempt — on any worker, after any restart — resends the journaled body with
the same key, so a response lost after the portal created the article replays it instead
of creating a second one. The contract's error table, as outcomes:

    400, 415, 422 (other codes), 413       Failed (the request is wrong)
    401 (not token_expired), 403, 404      Failed (configuration)
    401 token_expired                      new token, retried once; again → transient
    409 duplicate_source                   Delivered (the article exists)
    422 idempotency_key_reused             Delivered when the article exists (found by
                                           source_id: our first body was lost), else Failed
    409 idempotency_key_in_use             transient
    422 checksum_mismatch                  upload retried `checksum_retries` times, then Failed
    429                                    transient, waiting at least Retry-After
    5xx, 408, transport errors, truncated  transient (same key, same body)

withdraw(job) takes down every article the filing's delivered receipts name (contract
v1.1), each under a key of its own (`{job key}-{article_id}`) with the same body on every
try; the ones done are journaled. 404 not_found is permanent; the table above otherwise.
With no article published, the job completes as not_published without a call.

Transient failures get `quick_tries` tries in-process (service.delivery.quick_retry), then
the delivery goes back to the outbox as RetryLater.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from service.delivery.port import Delivered, DeliveryJob, Failed, Journal, Outcome, WithdrawJob
from service.delivery.portal_messages import (
    build_article_body,
    error_code,
    error_detail,
    field_of,
    is_token_expired,
    json_object,
    oauth_error,
    raise_for_error,
)
from service.delivery.quick_retry import (
    Permanent,
    QuickRetryPolicy,
    Transient,
    quick_retry,
)
from service.domain.destinations import Capability
from service.domain.time import SHANGHAI
from service.domain.withdrawal import NOT_PUBLISHED

# What the portal takes as an attachment; other kinds (txt, md) are published as text only.
ATTACHMENT_KINDS = frozenset({"pdf", "ofd", "docx", "doc", "xlsx", "xls", "jpg", "png"})

Log = Any  # a structlog bound logger (structlog.get_logger() is typed Any)


def _shanghai_now() -> datetime:
    return datetime.now(SHANGHAI).replace(microsecond=0)


@dataclass(frozen=True)
class PortalConfig:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    channels: Mapping[str, str] = field(default_factory=dict)  # category code → channel
    timeout_s: float = 30.0
    quick_tries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 60.0
    token_refresh_margin_s: float = 60.0
    checksum_retries: int = 3  # re-uploads after the first checksum_mismatch

    @property
    def retry_policy(self) -> QuickRetryPolicy:
        return QuickRetryPolicy(
            self.quick_tries, self.backoff_initial_s, self.backoff_max_s, self.retry_after_cap_s
        )


class _Tokens:
    """The OAuth access token, shared by every thread using the adapter.

    Fetched under a lock, so threads that find it missing wait for one fetch instead of each
    fetching their own; reused until `margin` seconds before it expires.
    """

    def __init__(
        self, fetch: Callable[[Log], tuple[str, float]], clock: Callable[[], float], margin: float
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def get(self, log: Log) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._valid_until:
                token, expires_in = self._fetch(log)
                self._token, self._valid_until = token, self._clock() + self._lifetime(expires_in)
            return self._token

    def discard(self, token: str) -> None:
        """Forget `token` — unless another thread has already replaced it with a fresh one."""
        with self._lock:
            if self._token == token:
                self._token = None

    def _lifetime(self, expires_in: float) -> float:
        # A token shorter-lived than twice the margin would be refreshed on every call.
        return expires_in - self._margin if expires_in > 2 * self._margin else expires_in / 2


class PortalAdapter:
    destination = "portal"
    # an article body from the paragraphs; articles can be withdrawn (contract v1.1)
    capabilities = frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW})

    def __init__(
        self,
        config: PortalConfig,
        *,
        client: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _shanghai_now,
    ) -> None:
        self._config = config
        self._base = config.base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=config.timeout_s)
        self._sleep = sleep
        self._now = now
        self._log = structlog.get_logger().bind(destination=self.destination)
        self._tokens = _Tokens(self._fetch_token, clock, config.token_refresh_margin_s)

    # -- the port ---------------------------------------------------------------------------

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        log = self._log.bind(delivery_id=job.delivery_id)
        channel = self._config.channels.get(job.category)
        if channel is None:
            outcome: Outcome = Failed(
                "channel_not_configured", f"no portal channel is configured for {job.category}"
            )
        else:
            state = dict(job.state)
            outcome = quick_retry(
                lambda: self._attempt(job, journal, state, channel, log),
                self._config.retry_policy,
                sleep=self._sleep,
                before_sleep=lambda exc, wait: log.info(
                    "portal.retry", code=exc.code, http_status=exc.http_status, wait_s=wait
                ),
            )
        log.info(
            "portal.delivery", outcome=type(outcome).__name__, code=getattr(outcome, "code", None)
        )
        return outcome

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome:
        log = self._log.bind(delivery_id=job.delivery_id, action="withdraw")
        articles = _article_ids(job.published)
        if not articles:
            return Delivered({"status": NOT_PUBLISHED, "articles": []})
        state = dict(job.state)
        outcome = quick_retry(
            lambda: self._withdraw_all(job, journal, state, articles, log),
            self._config.retry_policy,
            sleep=self._sleep,
            before_sleep=lambda exc, wait: log.info(
                "portal.retry", code=exc.code, http_status=exc.http_status, wait_s=wait
            ),
        )
        log.info(
            "portal.withdrawal", outcome=type(outcome).__name__, code=getattr(outcome, "code", None)
        )
        return outcome

    def _withdraw_all(
        self,
        job: WithdrawJob,
        journal: Journal,
        state: dict[str, Any],
        articles: list[str],
        log: Log,
    ) -> Outcome:
        done: dict[str, Any] = dict(state.get("withdrawn") or {})
        for article_id in articles:
            if article_id not in done:
                done[article_id] = self._withdraw_one(job, article_id, log)
                state["withdrawn"] = done
                journal.save(dict(state))
        return Delivered({"status": "withdrawn", "articles": [done[a] for a in articles]}, 200)

    def _withdraw_one(self, job: WithdrawJob, article_id: str, log: Log) -> dict[str, Any]:
        url = f"{self._base}/api/v1/articles/{quote(article_id, safe='')}/withdraw"
        body = {"reason": job.reason[:200], "requested_by": job.requested_by}
        key = f"{job.idempotency_key}-{article_id}"[:128]
        response = self._authorized(
            log, "withdraw", "POST", url, json=body, headers={"Idempotency-Key": key}
        )
        if response.status_code == 404:
            raise Permanent("not_found", f"the portal has no article {article_id}", http_status=404)
        raise_for_error(response, self._now)
        answer = json_object(response)
        return {
            "article_id": answer.get("article_id", article_id),
            "url": answer.get("url"),
            "status": answer.get("status"),
            "withdrawn_at": answer.get("withdrawn_at"),
        }

    def find_article(
        self, channel: str, source_id: str, *, delivery_id: str | None = None
    ) -> dict[str, Any] | None:
        """The channel's article for `source_id`, or None: how a sender that lost track finds it.

        Raises Transient or Permanent (service.delivery.quick_retry) when the portal cannot say.
        """
        log = self._log.bind(delivery_id=delivery_id)
        url = f"{self._channel_url(channel)}/articles"
        response = self._authorized(
            log, "find_article", "GET", url, params={"source_id": source_id}
        )
        raise_for_error(response, self._now)
        articles = json_object(response).get("articles")
        if not isinstance(articles, list):
            raise Transient("bad_response", "the article list has no 'articles'", http_status=200)
        return dict(articles[0]) if articles else None

    # -- one attempt ------------------------------------------------------------------------

    def _attempt(
        self,
        job: DeliveryJob,
        journal: Journal,
        state: dict[str, Any],
        channel: str,
        log: Log,
    ) -> Outcome:
        if "article_body" not in state:
            attachment_id = self._ensure_attachment(job, journal, state, log)
            state["article_body"] = build_article_body(job, attachment_id, self._now)
            # Saved before the first POST: a retry must send exactly this body with the key.
            journal.save(dict(state))
        return self._publish(job, state["article_body"], channel, log)

    def _ensure_attachment(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any], log: Log
    ) -> str | None:
        if job.file.kind not in ATTACHMENT_KINDS:
            return None
        if not state.get("attachment_id"):
            state["attachment_id"] = self._upload(job, log)
            journal.save(dict(state))
        return str(state["attachment_id"])

    def _upload(self, job: DeliveryJob, log: Log) -> str:
        url = f"{self._base}/api/v1/attachments"
        for _ in range(1 + self._config.checksum_retries):
            with self._file_part(job) as files:
                response = self._authorized(
                    log, "upload", "POST", url, files=files,
                    headers={"X-Content-SHA256": job.file.sha256},
                )  # fmt: skip
            if error_code(response) == "checksum_mismatch":
                continue
            raise_for_error(response, self._now)
            answer = json_object(response)
            # The portal's own hash must match too: it is what it will serve to the public.
            if answer.get("sha256", job.file.sha256) == job.file.sha256:
                return field_of(answer, "attachment_id")
        raise Permanent(
            "checksum_mismatch",
            f"the portal received other bytes than sha256 {job.file.sha256} "
            f"{1 + self._config.checksum_retries} times",
            http_status=422,
        )

    @contextmanager
    def _file_part(self, job: DeliveryJob) -> Iterator[dict[str, Any]]:
        # A file object, not bytes: httpx streams it in chunks, so a large file is never
        # held whole in memory. Reopened per try: a failed try may have consumed it.
        with job.file.open() as stream:
            yield {"file": (job.file.filename, stream, job.file.media_type)}

    def _publish(self, job: DeliveryJob, body: dict[str, Any], channel: str, log: Log) -> Outcome:
        url = f"{self._channel_url(channel)}/articles"
        response = self._authorized(
            log, "publish", "POST", url, json=body,
            headers={"Idempotency-Key": job.idempotency_key},
        )  # fmt: skip
        attachment_id = _first(body.get("attachments"))
        if response.status_code == 409 and error_code(response) == "duplicate_source":
            return self._already_published(job, response, channel, attachment_id, log)
        if response.status_code == 422 and error_code(response) == "idempotency_key_reused":
            return self._published_under_another_body(job, response, channel, attachment_id, log)
        raise_for_error(response, self._now)
        if response.headers.get("Idempotent-Replayed") == "true":
            log.info("portal.replayed", idempotency_key=job.idempotency_key)
        return Delivered(
            _receipt(json_object(response), channel, attachment_id), response.status_code
        )

    def _already_published(
        self,
        job: DeliveryJob,
        response: httpx.Response,
        channel: str,
        attachment_id: str | None,
        log: Log,
    ) -> Outcome:
        """409 duplicate_source: the article exists, which is what the delivery wanted."""
        article_id = error_detail(response).get("article_id")
        if not isinstance(article_id, str):
            found = self.find_article(channel, job.source_id, delivery_id=job.delivery_id)
            if found is None:
                raise Transient("duplicate_source", "the portal names no article for the source")
            article_id = field_of(found, "article_id")
        article = self._read_article(article_id, log) or {"article_id": article_id}
        return Delivered(_receipt(article, channel, attachment_id), response.status_code)

    def _published_under_another_body(
        self,
        job: DeliveryJob,
        response: httpx.Response,
        channel: str,
        attachment_id: str | None,
        log: Log,
    ) -> Outcome:
        """422 idempotency_key_reused: our key went out before with another body — the
        journaled first body was lost (a lease taken over, a catalog rebuilt). If the
        first request created the article, the delivery is done; otherwise the request is
        wrong and stays failed."""
        found = self.find_article(channel, job.source_id, delivery_id=job.delivery_id)
        if found is None:
            raise_for_error(response, self._now)
        log.warning("portal.key_reused_but_published", idempotency_key=job.idempotency_key)
        article = dict(found or {})
        return Delivered(_receipt(article, channel, attachment_id), 200)

    def _read_article(self, article_id: str, log: Log) -> dict[str, Any] | None:
        # Only the url is missing; the delivery is done whether or not the portal answers now.
        try:
            response = self._authorized(
                log, "read_article", "GET", f"{self._base}/api/v1/articles/{quote(article_id)}"
            )
            raise_for_error(response, self._now)
            return json_object(response)
        except (Transient, Permanent):
            return None

    # -- HTTP -------------------------------------------------------------------------------

    def _authorized(
        self, log: Log, endpoint: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """One call with the bearer token; a token_expired answer gets one fresh token and one retry."""
        token = self._tokens.get(log)
        response = self._send(log, endpoint, method, url, token, **kwargs)
        if not is_token_expired(response):
            return response
        self._tokens.discard(token)
        response = self._send(log, endpoint, method, url, self._tokens.get(log), **kwargs)
        if is_token_expired(response):
            raise Transient("token_expired", "a fresh token was refused at once", http_status=401)
        return response

    def _send(
        self, log: Log, endpoint: str, method: str, url: str, token: str, **kwargs: Any
    ) -> httpx.Response:
        # httpx rewinds a file part before sending it, so a retry after token_expired is whole.
        headers = {**kwargs.pop("headers", {}), "Authorization": f"Bearer {token}"}
        return self._request(log, endpoint, method, url, headers=headers, **kwargs)

    def _request(
        self, log: Log, endpoint: str, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        started = time.monotonic()
        try:
            response = self._client.request(method, url, timeout=self._config.timeout_s, **kwargs)
        except httpx.UnsupportedProtocol as exc:
            raise Permanent("bad_base_url", f"configuration: {exc}") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Refused, reset, timed out or cut short: unknown whether it happened. The retry
            # carries the same key and body, so the portal sorts it out.
            log.warning(
                "portal.call", endpoint=endpoint, error=type(exc).__name__, elapsed_ms=_ms(started)
            )
            raise Transient("transport_error", f"{type(exc).__name__}: {exc}") from exc
        log.info(
            "portal.call",
            endpoint=endpoint,
            http_status=response.status_code,
            code=error_code(response),
            elapsed_ms=_ms(started),
        )
        return response

    def _fetch_token(self, log: Log) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._config.client_id,
            "client_secret": self._config.client_secret,
        }
        response = self._request(log, "token", "POST", f"{self._base}/oauth/token", data=form)
        if response.status_code in (400, 401):
            code = oauth_error(response)
            raise Permanent(code, f"configuration: the token endpoint refused the client ({code})",
                            http_status=response.status_code)  # fmt: skip
        raise_for_error(response, self._now)
        answer = json_object(response)
        return field_of(answer, "access_token"), float(answer.get("expires_in", 0) or 0)

    def _channel_url(self, channel: str) -> str:
        return f"{self._base}/api/v1/channels/{quote(channel, safe='')}"


# -- answers ----------------------------------------------------------------------------------


def _receipt(article: Mapping[str, Any], channel: str, attachment_id: str | None) -> dict[str, Any]:
    return {
        "article_id": article.get("article_id"),
        "url": article.get("url"),
        "status": article.get("status"),
        "published_at": article.get("published_at"),
        "channel": channel,
        "attachment_id": attachment_id,
    }


def _article_ids(receipts: tuple[Mapping[str, Any], ...]) -> list[str]:
    """The articles a filing's delivered receipts name, each once, oldest first."""
    found: list[str] = []
    for receipt in receipts:
        article_id = receipt.get("article_id")
        if isinstance(article_id, str) and article_id and article_id not in found:
            found.append(article_id)
    return found


def _first(values: Any) -> str | None:
    return str(values[0]) if isinstance(values, list) and values else None


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)

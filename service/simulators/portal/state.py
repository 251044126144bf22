"""Everything the simulated portal holds: tokens, attachments, articles, idempotency keys."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from service.domain.time import SHANGHAI
from service.simulators.faults import Counters, FaultDice
from service.simulators.portal.config import BEARER, PortalError, SimulatorConfig


@dataclass
class Attachment:
    attachment_id: str
    filename: str
    sha256: str
    size: int
    kind: str
    data: bytes = field(default=b"", repr=False)  # served at /attachments/{id}/{filename}

    def public(self) -> dict[str, Any]:
        return {"attachment_id": self.attachment_id, "sha256": self.sha256, "size": self.size}

    def admin(self) -> dict[str, Any]:
        return {**self.public(), "filename": self.filename, "kind": self.kind}


@dataclass
class Article:
    article_id: str
    channel: str
    fields: dict[str, Any]
    publish_at: datetime
    created_at: datetime
    url: str
    corrected_by: str | None = None
    posts: dict[str, int] = field(
        default_factory=lambda: {"created": 1, "replayed": 0, "duplicate": 0}
    )
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = None
    withdrawals: int = 0  # withdraw calls that took it down: 1 at most, however often asked
    page: str = "shown"  # how its page answers: service.simulators.portal.pages.PAGE_STATES
    body_override: str | None = None  # a text changed on the page after publication
    revision: int = 1  # bumped by each change to the page (its ETag)
    views: int = 0  # 浏览次数: counted on each view

    def status(self, now: datetime) -> str:
        if self.withdrawn_at:
            return "withdrawn"  # 已撤回: reachable, its text replaced by the notice
        if self.corrected_by:
            return "corrected"  # 已更正: kept reachable, superseded by `corrected_by`
        return "scheduled" if self.publish_at > now else "published"

    def public(self, now: datetime) -> dict[str, Any]:
        withdrawn = (
            {"withdrawn_at": self.withdrawn_at.isoformat(), "withdraw_reason": self.withdraw_reason}
            if self.withdrawn_at
            else {}
        )
        return {
            **withdrawn,
            "article_id": self.article_id,
            "url": self.url,
            "status": self.status(now),
            "published_at": max(self.publish_at, self.created_at).isoformat(),
            "channel": self.channel,
            "source_id": self.fields["source_id"],
            "title": self.fields["title"],
            "replaces": self.fields.get("replaces"),
            "corrected_by": self.corrected_by,
        }


@dataclass
class _Key:
    fingerprint: tuple[str, Any]  # (channel, body): "the same request"
    status: int | None = None  # None while the first request with the key is in flight
    payload: dict[str, Any] | None = None
    stored_at: float = 0.0


@dataclass(frozen=True)
class Replay:
    status: int
    payload: dict[str, Any]


class PortalState:
    """Everything the portal holds, behind one lock."""

    def __init__(
        self, config: SimulatorConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.counters = Counters()
        self.dice = FaultDice(config.faults)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}  # token → monotonic expiry
            self.attachments: dict[str, Attachment] = {}
            self.articles: dict[str, Article] = {}
            self.by_source: dict[tuple[str, str], str] = {}
            self.keys: dict[str, _Key] = {}
        self.counters.reset()
        self.dice.set(self.config.faults)
        self.dice.clear_endpoints()

    def now(self) -> datetime:
        return datetime.now(SHANGHAI).replace(microsecond=0)

    # tokens

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + self.config.token_ttl_s
        return token

    def check_token(self, token: str) -> None:
        # Unknown tokens (say, from before a restart or reset) count as expired, not
        # invalid: a client's cure is the same — fetch a new one.
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None or self.clock() >= expires:
            raise PortalError(401, "token_expired", "the access token has expired", BEARER)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    # attachments

    def add_attachment(
        self, filename: str, sha256: str, size: int, kind: str, data: bytes = b""
    ) -> Attachment:
        attachment = Attachment(f"att_{secrets.token_hex(8)}", filename, sha256, size, kind, data)
        with self.lock:
            self.attachments[attachment.attachment_id] = attachment
        self.counters.inc("attachments_created")
        return attachment

    # idempotency keys

    def claim_key(
        self, key: str, fingerprint: tuple[str, Any], *, publishing: bool = True
    ) -> Replay | None:
        """None: the caller owns the key now and must `settle_key` it. `publishing`: a
        replay counts as a replayed post of the article (not for a withdrawal)."""
        with self.lock:
            entry = self.keys.get(key)
            if entry is not None and entry.status is not None and self._expired(entry):
                del self.keys[key]  # forgotten: a retry now meets duplicate_source instead
                entry = None
            if entry is None:
                self.keys[key] = _Key(fingerprint)
                return None
            if entry.status is None:
                raise PortalError(
                    409, "idempotency_key_in_use", "a request with this key is running"
                )
            if entry.fingerprint != fingerprint:
                raise PortalError(
                    422, "idempotency_key_reused", "the key was used with another body"
                )
            assert entry.payload is not None
            if publishing:
                self._count_post(_article_of(entry.payload), "replayed")
            return Replay(entry.status, entry.payload)

    def settle_key(self, key: str, status: int, payload: dict[str, Any]) -> None:
        with self.lock:
            if key not in self.keys:
                return  # an /_admin/reset came while the request ran
            if status >= 500:
                del self.keys[key]  # only 2xx and 4xx are kept: the retry runs anew
            else:
                self.keys[key] = replace(
                    self.keys[key], status=status, payload=payload, stored_at=self.clock()
                )

    def _expired(self, entry: _Key) -> bool:
        return self.clock() - entry.stored_at >= self.config.key_ttl_s

    # articles

    def create_article(self, channel: str, fields: dict[str, Any], base_url: str) -> Article:
        with self.lock:
            existing = self.by_source.get((channel, fields["source_id"]))
            if existing is not None:
                self._count_post(existing, "duplicate")
                raise PortalError(
                    409, "duplicate_source", "the source is published", article_id=existing
                )
            self._check_references(fields)
            article_id = f"art_{secrets.token_hex(8)}"
            now = self.now()
            article = Article(
                article_id, channel, fields, datetime.fromisoformat(fields["publish_at"]), now,
                url=f"{base_url}{channel}/{article_id}.html",
            )  # fmt: skip
            self.articles[article_id] = article
            self.by_source[(channel, fields["source_id"])] = article_id
            if fields.get("replaces"):
                self.articles[fields["replaces"]].corrected_by = article_id
        self.counters.inc("articles_created")
        return article

    def _check_references(self, fields: dict[str, Any]) -> None:
        for attachment_id in fields["attachments"]:
            if attachment_id not in self.attachments:
                raise PortalError(422, "unknown_attachment", f"no attachment {attachment_id}")
        replaces = fields.get("replaces")
        if replaces and replaces not in self.articles:
            raise PortalError(422, "unknown_article", f"replaces names no article {replaces}")
        if replaces and self.articles[replaces].withdrawn_at:
            raise PortalError(409, "withdrawn", f"{replaces} was withdrawn: publish a new article")

    def withdraw_article(self, article_id: str, reason: str) -> Article:
        """Idempotent: a withdrawn article answers as it is, the first reason kept."""
        with self.lock:
            article = self.articles.get(article_id)
            if article is None:
                raise PortalError(404, "not_found", f"no article {article_id}")
            if article.withdrawn_at is None:
                article.withdrawn_at, article.withdraw_reason = self.now(), reason
                article.withdrawals += 1
                self.counters.inc("articles_withdrawn")
            return article

    def _count_post(self, article_id: str | None, how: str) -> None:
        if article_id in self.articles:
            self.articles[article_id].posts[how] += 1

    def article(self, article_id: str) -> Article:
        with self.lock:
            found = self.articles.get(article_id)
        if found is None:
            raise PortalError(404, "article_not_found", f"no article {article_id}")
        return found

    def find(self, channel: str, source_id: str | None) -> list[Article]:
        with self.lock:
            articles = list(self.articles.values())
        return [
            a
            for a in articles
            if a.channel == channel and source_id in (None, a.fields["source_id"])
        ]

    def admin_article(self, article: Article) -> dict[str, Any]:
        with self.lock:
            attachments = [self.attachments[a] for a in article.fields["attachments"]]
            posts = dict(article.posts)
        return {
            **article.public(self.now()),
            **{
                k: article.fields.get(k) for k in ("publisher", "org_code", "publish_at", "summary")
            },
            "body_html": article.fields["body_html"],
            "attachments": [a.admin() for a in attachments],
            "posts": posts,
            "withdrawals": article.withdrawals,
            "page": article.page,
            "views": article.views,  # 浏览次数: how often its page was fetched
        }


def _article_of(payload: Mapping[str, Any]) -> str | None:
    """The article a stored answer names: a 201's article_id or duplicate_source's."""
    error = payload.get("error")
    found = error.get("article_id") if isinstance(error, dict) else payload.get("article_id")
    return found if isinstance(found, str) else None

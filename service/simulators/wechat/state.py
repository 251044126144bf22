"""Everything the simulated platform holds: its clock, tokens, quotas, images, materials,
drafts, publications and mass messages."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from service.simulators.faults import Counters, FaultDice
from service.simulators.wechat.clock import SimClock, shanghai_day
from service.simulators.wechat.config import (
    STABLE_TOKEN,
    STABLE_TOKEN_GRACE_S,
    SimulatorConfig,
    WechatError,
)

_UPLOADED = re.compile(r"/mmbiz_(?:jpg|png)/([0-9a-f]{32})/0$")


@dataclass
class Token:
    appid: str
    expires_at: float
    superseded: bool = False  # by a force_refresh: answered 40001


@dataclass
class Image:
    """An image of media/uploadimg (for `<img src>`) or a permanent material (a cover)."""

    image_id: str
    appid: str
    kind: str
    data: bytes = field(repr=False)
    url: str
    media_id: str | None = None  # a material's


@dataclass
class Draft:
    media_id: str
    appid: str
    articles: list[dict[str, Any]]
    created_at: float
    dropped_images: list[str]


@dataclass
class Publication:
    """One freepublish/submit: a job, and once it succeeded an article_id."""

    publish_id: str
    msg_data_id: int
    appid: str
    draft_media_id: str
    articles: list[dict[str, Any]]  # the draft's, as they were at submit
    submitted_at: float
    delay_s: float
    outcome: int
    base_url: str
    article_id: str
    deleted_idx: set[int] = field(default_factory=set)  # freepublish/delete
    status_override: int | None = None  # 5 or 6, by admin

    def status(self, now: float) -> int:
        if self.status_override is not None:
            return self.status_override
        if now < self.submitted_at + self.delay_s:
            return 1
        if self.outcome == 0 and len(self.deleted_idx) >= len(self.articles):
            return 5
        return self.outcome

    @property
    def finished_at(self) -> float:
        return self.submitted_at + self.delay_s

    def article_url(self, idx: int) -> str:
        return f"{self.base_url}s/{self.article_id}" + ("" if idx == 1 else f"?idx={idx}")

    def visible(self, now: float, idx: int) -> bool:
        """Whether article `idx` is published and not deleted."""
        return self.status(now) in (0, 6) and idx not in self.deleted_idx


@dataclass
class MassMessage:
    msg_id: int
    msg_data_id: int
    appid: str
    media_id: str
    clientmsgid: str | None
    is_to_all: bool
    tag_id: int | None
    sent_at: float
    title: str


class WechatState:
    """Everything the platform holds, behind one lock."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.counters = Counters()
        self.dice = FaultDice(config.faults)
        self.clock = SimClock(config.start_time)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, Token] = {}
            self.current: dict[str, str] = {}  # appid → its newest token
            self.calls: Counter[tuple[str, str, str]] = Counter()  # (appid, endpoint, day)
            self.limits: dict[tuple[str, str], int] = {}  # (appid | "*", endpoint) → calls a day
            self.images: dict[str, Image] = {}  # image_id → uploadimg images and materials
            self.materials: dict[str, Image] = {}  # media_id → material
            self.drafts: dict[str, Draft] = {}
            self.publications: dict[str, Publication] = {}  # publish_id → publication
            self.by_article: dict[str, str] = {}  # article_id → publish_id
            self.mass: list[MassMessage] = []
            self.outcome = (self.config.publish_status, self.config.publish_delay_s)
            self.sequence = itertools.count(1)
            self.answers: Counter[tuple[str, int]] = Counter()  # (endpoint, errcode)
        self.counters.reset()
        self.dice.set(self.config.faults)
        self.dice.clear_endpoints()
        self.clock = SimClock(self.config.start_time)

    def now(self) -> float:
        return self.clock.now()

    def next_number(self) -> int:
        with self.lock:
            return next(self.sequence)

    # answers

    def count_answer(self, endpoint: str, errcode: int) -> None:
        with self.lock:
            self.answers[(endpoint, errcode)] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            answers = dict(self.answers)
        by_endpoint: dict[str, dict[str, int]] = {}
        by_errcode: Counter[str] = Counter()
        for (endpoint, errcode), n in sorted(answers.items()):
            by_endpoint.setdefault(endpoint, {})[str(errcode)] = n
            by_errcode[str(errcode)] += n
        return {**self.counters.snapshot(), "errcodes": dict(by_errcode),
                "errcodes_by_endpoint": by_endpoint}  # fmt: skip

    # tokens

    def stable_token(self, appid: str, secret: str, force_refresh: bool) -> tuple[str, int]:
        expected = self.config.accounts.get(appid)
        if expected is None:
            raise WechatError(40013, "unknown appid")
        if not secrets.compare_digest(secret.encode(), expected.encode()):
            raise WechatError(40125, "wrong secret")
        with self.lock:
            now = self.clock.now()
            self._charge(appid, STABLE_TOKEN, now)
            current = self.tokens.get(self.current.get(appid, ""))
            if not force_refresh and current and current.expires_at - now > STABLE_TOKEN_GRACE_S:
                return self.current[appid], int(current.expires_at - now)
            if force_refresh:
                self._charge_force_refresh(appid, now)
                for earlier in self.tokens.values():
                    earlier.superseded = earlier.superseded or earlier.appid == appid
            token = secrets.token_urlsafe(48)
            self.tokens[token] = Token(appid, now + self.config.token_ttl_s)
            self.current[appid] = token
            return token, self.config.token_ttl_s

    def _charge_force_refresh(self, appid: str, now: float) -> None:
        key = (appid, "stable_token:force_refresh", shanghai_day(now))
        if self.calls[key] >= self.config.force_refresh_per_day:
            raise WechatError(45009, "force_refresh is limited to 20 a day")
        self.calls[key] += 1

    def account_of(self, token: str | None, endpoint: str) -> str:
        """The token's account, once its token and that endpoint's daily quota allow the call."""
        if not token:
            raise WechatError(41001)
        with self.lock:
            found = self.tokens.get(token)
            now = self.clock.now()
            if found is None or found.superseded:
                raise WechatError(40001)
            if now >= found.expires_at:
                raise WechatError(42001)
            self._charge(found.appid, endpoint, now)
            return found.appid

    def expire_token(self, token: str) -> None:
        """The token_expired fault: the token answers 42001 from now on."""
        with self.lock:
            found = self.tokens.get(token)
            if found is not None:
                found.expires_at = min(found.expires_at, self.clock.now())

    # quotas

    def _charge(self, appid: str, endpoint: str, now: float) -> None:
        limit = self._limit(appid, endpoint)
        key = (appid, endpoint, shanghai_day(now))
        if limit is not None and self.calls[key] >= limit:
            raise WechatError(45009, f"{endpoint} is limited to {limit} calls a day")
        self.calls[key] += 1

    def _limit(self, appid: str, endpoint: str) -> int | None:
        for who in (appid, "*"):
            if (who, endpoint) in self.limits:
                return self.limits[(who, endpoint)]
        return self.config.daily_limits.get(endpoint)

    def set_quota(self, endpoint: str, after: int | None, appid: str | None) -> dict[str, Any]:
        """From now, `after` more calls today, then 45009 (None: the default limit)."""
        with self.lock:
            if after is None:
                self.limits.pop((appid or "*", endpoint), None)
            else:
                self.limits[(appid or "*", endpoint)] = after
            today = shanghai_day(self.clock.now())
            for key in [k for k in self.calls if k[1:] == (endpoint, today)]:
                if appid in (None, key[0]):
                    del self.calls[key]
        return {"endpoint": endpoint, "appid": appid, "after": after, "day": today}

    # images

    def add_image(self, appid: str, kind: str, data: bytes, base_url: str) -> Image:
        image_id = secrets.token_hex(16)
        image = Image(image_id, appid, kind, data, f"{base_url}mmbiz_{kind}/{image_id}/0")
        with self.lock:
            self.images[image_id] = image
        return image

    def add_material(self, appid: str, kind: str, data: bytes, base_url: str) -> Image:
        image = self.add_image(appid, kind, data, base_url)
        image.media_id = secrets.token_urlsafe(32)
        with self.lock:
            self.materials[image.media_id] = image
        return image

    def image(self, image_id: str) -> Image | None:
        with self.lock:
            return self.images.get(image_id)

    def issued_image(self, src: str) -> bool:
        """Whether `src` is the URL media/uploadimg gave for an image (whatever host the
        client reached the simulator by)."""
        found = _UPLOADED.search(urlsplit(src).path)
        image = self.image(found.group(1)) if found else None
        return image is not None and image.media_id is None

    def check_material(self, appid: str, media_id: str) -> None:
        with self.lock:
            material = self.materials.get(media_id)
        if material is None or material.appid != appid:
            raise WechatError(40007, "thumb_media_id is no image material of this account")

    # drafts

    def add_draft(self, appid: str, articles: list[dict[str, Any]], dropped: list[str]) -> Draft:
        draft = Draft(secrets.token_urlsafe(32), appid, articles, self.now(), dropped)
        with self.lock:
            self.drafts[draft.media_id] = draft
        self.counters.inc("drafts_created")
        return draft

    def draft(self, appid: str, media_id: Any) -> Draft:
        if not isinstance(media_id, str) or not media_id:
            raise WechatError(41006)
        with self.lock:
            draft = self.drafts.get(media_id)
        if draft is None or draft.appid != appid:
            raise WechatError(40007, "no draft of this account has this media_id")
        return draft

    # publications

    def submit(self, appid: str, draft: Draft, base_url: str) -> Publication:
        """Publish the draft — again, if it was published before: a second submit of one
        draft makes a second publication (the hazard a sender must avoid)."""
        number = self.next_number()
        with self.lock:
            status, delay_s = self.outcome
            publication = Publication(
                str(2247483647 + number), 2247483647 + number, appid, draft.media_id,
                [dict(a) for a in draft.articles], self.clock.now(), delay_s, status, base_url,
                secrets.token_urlsafe(48),
            )  # fmt: skip
            self.publications[publication.publish_id] = publication
            self.by_article[publication.article_id] = publication.publish_id
        self.counters.inc("publications")
        return publication

    def publication(self, appid: str, publish_id: Any) -> Publication:
        with self.lock:
            found = self.publications.get(str(publish_id)) if publish_id is not None else None
        if found is None or found.appid != appid:
            raise WechatError(53601, "no publication of this account has this publish_id")
        return found

    def by_article_id(self, article_id: str) -> Publication | None:
        with self.lock:
            publish_id = self.by_article.get(article_id)
            return self.publications.get(publish_id) if publish_id else None

    def published(self, appid: str) -> list[Publication]:
        """The account's publications listed by batchget: published, not all deleted, newest
        first."""
        now = self.now()
        with self.lock:
            listed = [p for p in self.publications.values() if p.appid == appid]
        shown = [p for p in listed if p.status(now) == 0]
        return sorted(shown, key=lambda p: (p.finished_at, p.msg_data_id), reverse=True)

    def delete(self, appid: str, article_id: Any, index: int) -> None:
        """Idempotent: an article deleted before answers errcode 0 again."""
        found = self.by_article_id(article_id) if isinstance(article_id, str) else None
        now = self.now()
        if found is None or found.appid != appid or found.status(now) not in (0, 5, 6):
            raise WechatError(53600, "no published article of this account has this id")
        if not 0 <= index <= len(found.articles):
            raise WechatError(40060)
        wanted = set(range(1, len(found.articles) + 1)) if index == 0 else {index}
        with self.lock:
            fresh = wanted - found.deleted_idx
            found.deleted_idx |= fresh
        if fresh:
            self.counters.inc("deletions")

    def set_outcome(self, status: int, delay_s: float) -> None:
        with self.lock:
            self.outcome = (status, delay_s)

    def set_article_status(self, article_id: str, status: int) -> Publication | None:
        found = self.by_article_id(article_id)
        if found is not None:
            with self.lock:
                found.status_override = status
        return found

    # mass messages

    def send_mass(
        self, appid: str, draft: Draft, clientmsgid: str | None, audience: tuple[bool, int | None]
    ) -> MassMessage:
        """Send the draft to the followers, unless this clientmsgid was sent in the last 24 h
        (45065, naming that send's msg_id) or the account's mass quota is spent (45028)."""
        number = self.next_number()
        with self.lock:
            now = self.clock.now()
            earlier = self._sent_with(appid, clientmsgid, now) if clientmsgid else None
            if earlier is not None:
                raise WechatError(45065, "clientmsgid sent before", msg_id=earlier.msg_id)
            self._check_mass_quota(appid, now)
            message = MassMessage(
                1000000000 + number, 2247483647 + number, appid, draft.media_id, clientmsgid,
                audience[0], audience[1], now, draft.articles[0]["title"],
            )  # fmt: skip
            self.mass.append(message)
        self.counters.inc("mass_messages")
        return message

    def _sent_with(self, appid: str, clientmsgid: str, now: float) -> MassMessage | None:
        cutoff = now - self.config.clientmsgid_ttl_s
        for message in reversed(self.mass):
            if (message.appid, message.clientmsgid) == (appid, clientmsgid):
                return message if message.sent_at > cutoff else None
        return None

    def _check_mass_quota(self, appid: str, now: float) -> None:
        """Subscription accounts: one mass send a day; service accounts: four a month."""
        subscription = self.config.type_of(appid) == "subscription"
        length, allowed = (10, 1) if subscription else (7, 4)  # "YYYY-MM-DD" or "YYYY-MM"
        period = shanghai_day(now)[:length]
        sent = sum(
            1 for m in self.mass if m.appid == appid and shanghai_day(m.sent_at)[:length] == period
        )
        if sent >= allowed:
            what = "a day" if subscription else "a month"
            raise WechatError(45028, f"{allowed} mass send(s) {what} for this account")

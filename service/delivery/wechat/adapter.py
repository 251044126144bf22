"""`WeChatAdapter`: publishing a filing version as an article on its body's official
account, sending it to the followers when the body asks, and taking it down again (the
package docstring says how).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from service.delivery.port import (
    Delivered,
    DeliveryJob,
    Failed,
    Journal,
    Outcome,
    RetryLater,
    WithdrawJob,
)
from service.delivery.quick_retry import Permanent, Transient, quick_retry
from service.delivery.wechat.client import PROCESS_TOKENS, TokenCache, WeChatApi
from service.delivery.wechat.protocol import (
    IMAGE_REFUSALS,
    NEVER_PUBLISHED,
    PUBLISH_FAILURES,
    Log,
    QuotaReached,
    WeChatAccount,
    WeChatConfig,
    article_content,
    article_digest,
    article_title,
    client_msg_id,
    docx_images,
    reference,
    refused_before_acceptance,
)
from service.domain.destinations import Capability
from service.domain.time import SHANGHAI, utcnow
from service.domain.withdrawal import NOT_PUBLISHED

BATCHGET_PAGE = 20
BATCHGET_PAGES = 5  # a lost submit is looked for among the account's 100 latest publications
MASS_REPEATED = 45065  # a clientmsgid sent before: the followers have it already
ARTICLE_GONE = 53600  # freepublish/delete: no such published article (deleted already)


class WeChatAdapter:
    destination = "wechat"
    # an article from the paragraphs; articles can be taken down (freepublish/delete)
    capabilities = frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW})

    def __init__(
        self,
        config: WeChatConfig,
        *,
        client: httpx.Client | None = None,
        now: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
        tokens: TokenCache = PROCESS_TOKENS,
    ) -> None:
        self._config = config
        self._now = now
        self._sleep = sleep
        self._api = WeChatApi(
            config.base_url, client or httpx.Client(timeout=config.timeout_s),
            timeout_s=config.timeout_s, token_margin_s=config.token_refresh_margin_s,
            tokens=tokens, now=now,
        )  # fmt: skip
        self._log = structlog.get_logger().bind(destination=self.destination)

    # -- the port ---------------------------------------------------------------------------

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        log = self._log.bind(delivery_id=job.delivery_id)
        state = dict(job.state)
        return self._on_account(
            job.org_code, log, "wechat.delivery",
            lambda account: self._publish(job, journal, state, account, log),
        )  # fmt: skip

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome:
        log = self._log.bind(delivery_id=job.delivery_id, action="withdraw")
        # A delivery that failed after its article was published (the correction's or the
        # mass message's step given up) has it in its journal only.
        articles = _article_ids(job.published + job.failed_journals)
        if not articles:
            return Delivered({"status": NOT_PUBLISHED, "articles": []})
        state = dict(job.state)
        return self._on_account(
            job.org_code, log, "wechat.withdrawal",
            lambda account: self._delete_all(journal, state, account, articles, log),
        )  # fmt: skip

    def _on_account(
        self, org_code: str, log: Log, event: str, work: Callable[[WeChatAccount], Outcome]
    ) -> Outcome:
        """`work` on the body's account, under quick retries and the daily quota."""
        account = self._config.accounts.get(org_code)
        if account is None:
            outcome: Outcome = Failed(
                "account_not_configured",
                f"单位 {org_code} 未在单位登记中登记微信公众号（appid、secret）",
            )
        else:
            outcome = self._guarded(account, log, lambda: work(account))
        log.info(event, outcome=type(outcome).__name__, code=getattr(outcome, "code", None))
        return outcome

    # -- quick retries and the daily quota --------------------------------------------------

    def _guarded(self, account: WeChatAccount, log: Log, attempt: Callable[[], Outcome]) -> Outcome:
        """Quick retries of `attempt`; a daily quota used up (45009) reschedules to the next
        00:00 Asia/Shanghai and tells an operator (the API keeps this process from calling
        that endpoint of the account again before then)."""
        try:
            return quick_retry(
                attempt,
                self._config.retry_policy,
                sleep=self._sleep,
                before_sleep=lambda exc, wait: log.info(
                    "wechat.retry", code=exc.code, http_status=exc.http_status, wait_s=wait
                ),
            )
        except QuotaReached as exc:
            log.warning("wechat.quota_reached", code=exc.code, until=exc.until.isoformat())
            return _tomorrow(exc.code, exc.message, exc.until, self._now())

    # -- publishing: cover, images, draft, submit, outcome, mass message -----------------------

    def _publish(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> Outcome:  # fmt: skip
        """From the furthest step the journal says was reached."""
        if not state.get("article_id"):
            if not state.get("publish_id"):
                if not state.get("draft_media_id"):
                    self._draft(job, journal, state, account, log)
                waiting = self._submit(job, journal, state, account, log)
                if waiting is not None:
                    return waiting
            if not state.get("article_id"):
                pending = self._outcome(journal, state, account, log)
                if pending is not None:
                    return pending
        self._retire_replaced(job, journal, state, account, log)
        audit = self._reach(job, journal, state, account, log)
        return Delivered(_receipt(state), 200, audit)

    def _retire_replaced(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> None:  # fmt: skip
        """A correction's article replaces the one before: once it is published, the older
        article is deleted, so followers never read two versions. An older article that is
        gone already (53600) is what was wanted."""
        old = (job.replaces or {}).get("article_id")
        if not isinstance(old, str) or not old or state.get("replaced_article_id") == old:
            return
        try:
            self._api.call(log, account, "freepublish/delete",
                           json_body={"article_id": old, "index": 0},
                           accept=frozenset({ARTICLE_GONE}))  # fmt: skip
        except Permanent as exc:  # the new article stands; the old one is a person's to remove
            log.warning("wechat.replaced_article_not_deleted", article_id=old, code=exc.code)
            state["replaced_article_error"] = exc.message
        state["replaced_article_id"] = old
        journal.save(dict(state))

    def _draft(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> None:  # fmt: skip
        if "article_body" not in state:
            state["article_body"] = self._article(job, journal, state, account, log)
            # Saved before draft/add: every later attempt sends exactly this article.
            journal.save(dict(state))
        answer = self._api.call(log, account, "draft/add",
                                json_body={"articles": [state["article_body"]]})  # fmt: skip
        state["draft_media_id"] = _field(answer, "media_id", "draft/add")
        journal.save(dict(state))

    def _article(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> dict[str, Any]:  # fmt: skip
        if not any(p.strip() for p in job.paragraphs):
            raise Permanent("no_text", "文档中没有可发布为公众号文章的文字（扫描件？）")
        if not state.get("cover_media_id"):
            state["cover_media_id"] = self._upload_cover(job, account, log)
            journal.save(dict(state))
        if "images" not in state:
            state["images"] = self._upload_images(job, account, log)
            journal.save(dict(state))
        source_url = _source_url(job)
        return {
            "article_type": "news",
            "title": article_title(job),
            "author": job.org_name[:16],
            "digest": article_digest(job),
            "content": article_content(job.paragraphs, state["images"], source_url),
            "content_source_url": source_url or "",
            "thumb_media_id": state["cover_media_id"],
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        }

    def _upload_cover(self, job: DeliveryJob, account: WeChatAccount, log: Log) -> str:
        cover = self._config.cover_for(job.org_code)
        files = {"media": (cover.filename, cover.data, cover.media_type)}
        answer = self._api.call(log, account, "material/add_material", files=files,
                                params={"type": "image"})  # fmt: skip
        return _field(answer, "media_id", "material/add_material")

    def _upload_images(self, job: DeliveryJob, account: WeChatAccount, log: Log) -> list[str]:
        if job.file.kind != "docx" or self._config.max_images <= 0:
            return []
        with job.file.open() as stream:
            images = docx_images(stream, self._config.max_images)
        urls = []
        for image in images:
            files = {"media": (image.name, image.data, image.media_type)}
            try:
                answer = self._api.call(log, account, "media/uploadimg", files=files)
            except Permanent as exc:
                if exc.code not in IMAGE_REFUSALS:
                    raise
                log.warning("wechat.image_left_out", image=image.name, code=exc.code)
                continue  # one image the platform will not take does not hold the article
            urls.append(_field(answer, "url", "media/uploadimg"))
        return urls

    def _submit(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> Outcome | None:  # fmt: skip
        """freepublish/submit, at most once per publication. The account's latest
        publications are looked through first (freepublish/batchget, the title and the
        digest's reference), every time: a submit before may have gone whatever the journal
        says (an answer lost, a catalog rebuilt from the archive, a journal lost). One sent
        before and not listed yet may still be publishing: resent only after a grace."""
        if self._find(job, journal, state, account, log):
            return None
        earlier = state.get("submitted_at")
        if earlier:
            sent = datetime.fromisoformat(earlier)
            wait = (sent + timedelta(seconds=self._config.lost_submit_grace_s)) - self._now()
            if wait.total_seconds() > 0:
                return RetryLater("submit_unconfirmed", "上次发布请求的应答丢失，平台尚未列出该文章；"
                                  "稍后再查，不重复发布", None, wait.total_seconds())  # fmt: skip
            log.warning("wechat.resubmit_after_lost_answer", submitted_at=earlier)
        state["submitted_at"] = self._now().isoformat()
        journal.save(dict(state))  # before the call: its answer may be lost
        try:
            answer = self._api.call(log, account, "freepublish/submit",
                                    json_body={"media_id": state["draft_media_id"]})  # fmt: skip
        except (Transient, Permanent, QuotaReached) as exc:
            if refused_before_acceptance(exc):  # this send did nothing: as before it
                state["submitted_at"] = earlier
                journal.save(dict(state))
            raise
        state["publish_id"] = str(_field(answer, "publish_id", "freepublish/submit"))
        state["polls"] = 0
        journal.save(dict(state))
        return None

    def _find(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> bool:  # fmt: skip
        """The publication of this delivery among the account's latest, by title and the
        digest's unique reference; when found, its article is journaled. An answer that
        is not a listing is transient: never read as "not there"."""
        article = state["article_body"]
        for page in range(BATCHGET_PAGES):
            answer = self._api.call(log, account, "freepublish/batchget", json_body={
                "offset": page * BATCHGET_PAGE, "count": BATCHGET_PAGE, "no_content": 0,
            })  # fmt: skip
            items, total = answer.get("item"), answer.get("total_count")
            if not isinstance(items, list) or not isinstance(total, int):
                raise Transient("bad_response", "freepublish/batchget: no item list and total")
            for item in items:
                found = _matching(item, article["title"], reference(job))
                if found is not None:
                    state["article_id"], state["article_url"] = found
                    journal.save(dict(state))
                    log.info("wechat.found_publication", article_id=found[0])
                    return True
            if not items or (page + 1) * BATCHGET_PAGE >= total:
                return False
        return False

    def _outcome(
        self, journal: Journal, state: dict[str, Any], account: WeChatAccount, log: Log
    ) -> Outcome | None:
        """freepublish/get: None when published (the article journaled), RetryLater while
        publishing (30 s, 2 min, 10 min, 1 h …: 100 polls a day), Failed for good otherwise."""
        answer = self._api.call(log, account, "freepublish/get",
                                json_body={"publish_id": state["publish_id"]})  # fmt: skip
        status = answer.get("publish_status")
        if status == 0:
            state["article_id"] = _field(answer, "article_id", "freepublish/get")
            state["article_url"] = _first_url(answer)
            journal.save(dict(state))
            return None
        if status == 1:
            polls = int(state.get("polls") or 0)
            state["polls"] = polls + 1
            journal.save(dict(state))
            backoff = self._config.poll_backoff_s
            wait = backoff[min(polls, len(backoff) - 1)]
            return RetryLater("publishing", "公众号正在发布，稍后查询结果", 200, wait)
        if isinstance(status, int) and status in PUBLISH_FAILURES:
            fails = answer.get("fail_idx")
            if status in NEVER_PUBLISHED:  # a person's 重新投递 starts again from a draft
                for step in ("article_body", "draft_media_id", "publish_id", "submitted_at"):
                    state.pop(step, None)
                journal.save(dict(state))
            return Failed(f"publish_status_{status}", PUBLISH_FAILURES[status] +
                          (f"（fail_idx {fails}）" if fails else ""), 200)  # fmt: skip
        raise Transient(
            "bad_response", f"freepublish/get: publish_status {status!r}", http_status=200
        )

    def _reach(
        self, job: DeliveryJob, journal: Journal, state: dict[str, Any],
        account: WeChatAccount, log: Log,
    ) -> dict[str, Any]:  # fmt: skip
        """The mass message to the followers, when the body asks for it: once per delivery
        (clientmsgid is the delivery's; 45065, a repeat, means it went). A permanent refusal
        is recorded, not a failure: the article is published."""
        if not account.mass_send:
            return {}
        if "mass_send" not in state:
            try:
                state["mass_send"] = self._mass_send(job, state, account, log)
            except QuotaReached as exc:
                if not self._waited_a_day(state):
                    state.setdefault("mass_send_deferred_at", self._now().isoformat())
                    journal.save(dict(state))
                    raise
                log.warning("wechat.mass_send_left_out", code=exc.code)
                state["mass_send"] = {
                    "status": "not_sent", "code": exc.code,
                    "clientmsgid": client_msg_id(job.idempotency_key),
                    "message": "群发额度连日用尽：文章已发布，未群发给关注者（可在公众号后台群发）",
                }  # fmt: skip
            journal.save(dict(state))
        return {"mass_send": state["mass_send"]}

    def _waited_a_day(self, state: Mapping[str, Any]) -> bool:
        """The mass message was held back by the day's quota on an earlier day already: the
        published article is not kept from its receipt any longer (a delivery waiting days
        would be given up as failed, its article live but on no receipt)."""
        deferred = state.get("mass_send_deferred_at")
        if not deferred:
            return False
        first = datetime.fromisoformat(deferred).astimezone(SHANGHAI).date()
        return self._now().astimezone(SHANGHAI).date() > first

    def _mass_send(
        self, job: DeliveryJob, state: dict[str, Any], account: WeChatAccount, log: Log
    ) -> dict[str, Any]:
        clientmsgid = client_msg_id(job.idempotency_key)
        body = {
            "filter": {"is_to_all": True},
            "mpnews": {"media_id": state["draft_media_id"]},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": clientmsgid,
        }
        try:
            answer = self._api.call(log, account, "message/mass/sendall", json_body=body,
                                    accept=frozenset({MASS_REPEATED}))  # fmt: skip
        except Permanent as exc:
            log.warning("wechat.mass_send_refused", code=exc.code)
            return {"status": "failed", "clientmsgid": clientmsgid, "code": exc.code,
                    "message": exc.message}  # fmt: skip
        msg_id = answer.get("msg_id")
        return {
            "status": "sent",
            "clientmsgid": clientmsgid,
            "msg_id": str(msg_id) if msg_id is not None else None,
            "repeat": answer.get("errcode") == MASS_REPEATED,
        }

    # -- withdrawal ----------------------------------------------------------------------------

    def _delete_all(
        self, journal: Journal, state: dict[str, Any], account: WeChatAccount,
        articles: list[str], log: Log,
    ) -> Outcome:  # fmt: skip
        """Each article deleted; one gone already (53600: a correction's older article,
        deleted when the correction was published, or deleted by hand) counts as done."""
        done: dict[str, Any] = dict(state.get("withdrawn") or {})
        for article_id in articles:
            if article_id not in done:
                answer = self._api.call(log, account, "freepublish/delete",
                                        json_body={"article_id": article_id, "index": 0},
                                        accept=frozenset({ARTICLE_GONE}))  # fmt: skip
                gone = answer.get("errcode") == ARTICLE_GONE
                done[article_id] = {"article_id": article_id,
                                    "status": "already_deleted" if gone else "withdrawn"}  # fmt: skip
                state["withdrawn"] = done
                journal.save(dict(state))
        return Delivered({"status": "withdrawn", "articles": [done[a] for a in articles]}, 200)


# -- answers ------------------------------------------------------------------------------------


def _tomorrow(code: str, message: str, until: datetime, now: datetime) -> RetryLater:
    # At least a second: a reschedule never spins, whatever the clocks say.
    wait = max(1.0, (until - now).total_seconds())
    return RetryLater(code, message, 200, wait, notify=True)


def _source_url(job: DeliveryJob) -> str | None:
    """The article this one links to as 阅读原文: the receipt's url of the destination it
    waits on (the registry's `after`)."""
    for receipt in job.prior_receipts.values():
        url = receipt.get("url")
        if isinstance(url, str) and url:
            return url
    return None


def _field(answer: Mapping[str, Any], name: str, endpoint: str) -> str:
    value = answer.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise Transient("bad_response", f"{endpoint}: the answer has no '{name}'", http_status=200)
    return value


def _first_url(answer: Mapping[str, Any]) -> str | None:
    detail = answer.get("article_detail")
    items = detail.get("item") if isinstance(detail, dict) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("article_url"), str):
                return str(item["article_url"])
    return None


def _matching(item: Any, title: str, ref: str) -> tuple[str, str | None] | None:
    """(article_id, url) when a batchget item is this delivery's publication."""
    if not isinstance(item, dict) or not isinstance(item.get("article_id"), str):
        return None
    content = item.get("content")
    news = content.get("news_item") if isinstance(content, dict) else None
    for article in news if isinstance(news, list) else []:
        if not isinstance(article, dict):
            continue
        digest = article.get("digest")
        if article.get("title") == title and isinstance(digest, str) and digest.endswith(ref):
            url = article.get("url")
            return str(item["article_id"]), url if isinstance(url, str) else None
    return None


def _receipt(state: Mapping[str, Any]) -> dict[str, Any]:
    article = state.get("article_body") or {}
    receipt = {
        "article_id": state.get("article_id"),
        "article_url": state.get("article_url"),
        "url": state.get("article_url"),
        "publish_id": state.get("publish_id"),
        "media_id": state.get("draft_media_id"),
        "title": article.get("title"),
        "content_source_url": article.get("content_source_url") or None,
    }
    if "mass_send" in state:
        receipt["mass_send"] = state["mass_send"]
    if state.get("replaced_article_id"):
        receipt["replaced_article_id"] = state["replaced_article_id"]
        receipt["replaced_article_error"] = state.get("replaced_article_error")
    return receipt


def _article_ids(receipts: tuple[Mapping[str, Any], ...]) -> list[str]:
    found: list[str] = []
    for receipt in receipts:
        article_id = receipt.get("article_id")
        if isinstance(article_id, str) and article_id and article_id not in found:
            found.append(article_id)
    return found

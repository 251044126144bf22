"""The WeChat official-account adapter (微信公众号): publishes a filing version as an article
(图文消息) on its body's account, speaking `contracts/wechat.md`.

    deliver(job) ─▶ the body's account (appid, secret) from the registry of bodies
                 ─▶ token: per account, one refresh at a time in the process (stable_token,
                    never force_refresh); 40001/40014/42001 → a new token, the call once more
                 ─▶ cover (material/add_material; the body's configured cover, else the
                    default, else a built-in one) and the images a DOCX embeds
                    (media/uploadimg, at most `max_images`, JPEG/PNG under 1 MB): their
                    ids journaled at once
                 ─▶ the article: title ≤ 32, digest ≤ 128 ending in 「编号 fil_…-vN」, the
                    paragraphs as <p> (escaped), then the images; a longer document gives
                    its opening paragraphs and 「全文见阅读原文」; content_source_url is the
                    portal article (the receipt of the destination it waits on, `after`).
                    Journaled before draft/add
                 ─▶ draft/add → draft media_id, journaled
                 ─▶ freepublish/submit → publish_id, journaled; the time it was sent is
                    journaled *before* it goes: after a lost answer (5xx, timeout, reset)
                    the publication is looked for in freepublish/batchget (title and the
                    digest's reference) and resubmitted only when it is not there, after
                    `lost_submit_grace_s` for one still publishing
                 ─▶ freepublish/get: 0 → the receipt; 1 → RetryLater(30 s, 2 min, 10 min,
                    1 h …); 2–6 → Failed, never resubmitted
                 ─▶ a correction: the article it replaces (job.replaces) deleted, once
                 ─▶ the mass message (message/mass/sendall, clientmsgid = the delivery's
                    key; 45065 = sent before) when the body's account has `mass_send: true`
                 ─▶ receipt {article_id, article_url, url, publish_id, media_id, title,
                    content_source_url[, mass_send]}

    withdraw(job) ─▶ freepublish/delete {article_id, index 0} for each published article
                     (53600, deleted already: done)

Every later attempt — on any worker, after any restart — resumes from the furthest step
the journal holds. Errors come back as HTTP 200 with an errcode, which is read on every
answer (service.delivery.wechat.protocol.ERRCODES):

    -1, HTTP 5xx/408/429, transport errors    transient: the same step again
    45009 (45028 for the mass message)        RetryLater until 00:00 Asia/Shanghai, an
                                              operator told (RetryLater.notify); no call to
                                              the account from this process before then
    40164, 89503, 48001, 40013, 40125         Failed at once, a Chinese reason for the operator
    40005, 40007, 40009, 53503–53505, others  Failed

Transient failures get `quick_tries` tries in-process (service.delivery.quick_retry), then
the delivery goes back to the outbox as RetryLater.

Images: the reader gives paragraphs without images or their places, so the images a DOCX
embeds (word/media, in the package's order) follow the text; PDF, OFD and text files give
none. A truncated article carries no images.

    protocol.py   client.py   adapter.py
"""

from __future__ import annotations

from service.delivery.wechat.adapter import WeChatAdapter
from service.delivery.wechat.client import PROCESS_TOKENS, TokenCache
from service.delivery.wechat.protocol import (
    Cover,
    WeChatAccount,
    WeChatConfig,
    built_in_cover,
    cover_from_file,
    next_midnight,
)

__all__ = [
    "PROCESS_TOKENS",
    "Cover",
    "TokenCache",
    "WeChatAccount",
    "WeChatAdapter",
    "WeChatConfig",
    "built_in_cover",
    "cover_from_file",
    "next_midnight",
]

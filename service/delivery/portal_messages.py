"""The portal's messages (contract: shared/contracts/portal.md): the article body a
delivery sends, built once and resent identically; what the answers mean ("Errors, and
what a sender must do"): error bodies, OAuth errors, the fields of a 2xx. The portal
adapter (service.delivery.portal) decides what to do with them."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import httpx

from service.delivery.port import DeliveryJob
from service.delivery.quick_retry import Permanent, Transient, parse_retry_after, truncate
from service.domain.time import SHANGHAI


def raise_for_error(response: httpx.Response, now: Callable[[], datetime]) -> None:
    """The contract's error table, for every answer that is not a success (the portal
    adapter's module docstring says what each row means for a sender)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    code = error_code(response) or f"http_{status}"
    message = error_message(response)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        raise Transient(code, message, http_status=status, retry_after=retry_after)
    # 408: the portal timed out reading the request — the contract's "timeout" row.
    if status >= 500 or status == 408 or (status == 409 and code == "idempotency_key_in_use"):
        raise Transient(code, message, http_status=status)
    if status in (401, 403, 404):
        raise Permanent(code, f"configuration: {message}", http_status=status)
    raise Permanent(code, message, http_status=status)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """A success's JSON object; anything else means the answer was cut short or garbled."""
    try:
        value = response.json()
    except ValueError as exc:
        raise Transient(
            "bad_response", f"unreadable JSON: {exc}", http_status=response.status_code
        ) from exc
    if not isinstance(value, dict):
        raise Transient(
            "bad_response", "the answer is not a JSON object", http_status=response.status_code
        )
    return value


def field_of(answer: Mapping[str, Any], name: str) -> str:
    value = answer.get(name)
    if not isinstance(value, str) or not value:
        raise Transient("bad_response", f"the answer has no '{name}'")
    return value


def error_detail(response: httpx.Response) -> dict[str, Any]:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def error_code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    code = error_detail(response).get("code")
    return code if isinstance(code, str) else None


def error_message(response: httpx.Response) -> str:
    message = error_detail(response).get("message")
    if isinstance(message, str) and message:
        return message
    return truncate(response.text) or response.reason_phrase


def oauth_error(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    return error if isinstance(error, str) else f"http_{response.status_code}"


def is_token_expired(response: httpx.Response) -> bool:
    return response.status_code == 401 and error_code(response) == "token_expired"


def build_article_body(
    job: DeliveryJob, attachment_id: str | None, now: Callable[[], datetime]
) -> dict[str, Any]:
    """The article as the portal receives it. Built once per delivery (the portal adapter's
    module docstring says why)."""
    body: dict[str, Any] = {
        "source_id": job.source_id,
        "title": job.title,
        "publisher": job.org_name,
        "org_code": job.org_code,
        "body_html": "\n".join(f"<p>{html.escape(p)}</p>" for p in job.paragraphs),
        "publish_at": portal_time(job.publish_at or now()),
        "attachments": [attachment_id] if attachment_id else [],
    }
    if job.replaces is not None:
        body["replaces"] = replaced_article_id(job.replaces)
    if job.correction_reason:
        body["summary"] = f"更正原因：{job.correction_reason}"[:500]
    return body


def portal_time(moment: datetime) -> str:
    # A naive time from an operator means Beijing time, the only zone the bodies work in.
    local = (
        moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment.astimezone(SHANGHAI)
    )
    return local.isoformat()


def replaced_article_id(receipt: Mapping[str, Any]) -> str:
    article_id = receipt.get("article_id")
    if not isinstance(article_id, str) or not article_id:
        raise Permanent(
            "replaces_without_article_id", "the corrected version's receipt has no article_id"
        )
    return article_id

"""The checks of a request: its token, its channel, an article's fields, an attachment's type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from service.simulators.portal.config import (
    BEARER,
    MAX_SUMMARY_CHARS,
    MAX_WITHDRAW_REASON_CHARS,
    SIGNATURES,
    PortalError,
    SimulatorConfig,
)
from service.simulators.portal.state import PortalState


def bearer(request: Request, state: PortalState) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PortalError(401, "invalid_token", "a bearer token is required", BEARER)
    state.check_token(token.strip())
    return token.strip()


def check_channel(channel: str, config: SimulatorConfig) -> str:
    if channel not in config.channels:
        raise PortalError(404, "channel_not_found", f"no channel {channel}")
    if channel in config.forbidden_channels:
        raise PortalError(403, "channel_forbidden", f"this client may not publish to {channel}")
    return channel


def article_fields(body: Any) -> dict[str, Any]:
    """The article's fields, checked; 400 for a body that is not an object, 422 for a field."""
    if not isinstance(body, dict):
        raise PortalError(400, "invalid_request", "the body must be a JSON object")
    for name in ("source_id", "title", "publisher", "org_code", "body_html", "publish_at"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise PortalError(422, "invalid_field", f"{name} is required")
    if len(body["org_code"]) != 18:
        raise PortalError(422, "invalid_field", "org_code must be 18 characters")
    if not _is_zoned_iso(body["publish_at"]):
        raise PortalError(422, "invalid_field", "publish_at must be ISO 8601 with an offset")
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise PortalError(422, "invalid_field", "attachments must be a list of ids")
    summary = body.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY_CHARS):
        raise PortalError(
            422, "invalid_field", f"summary must be at most {MAX_SUMMARY_CHARS} chars"
        )
    if body.get("replaces") is not None and not isinstance(body["replaces"], str):
        raise PortalError(422, "invalid_field", "replaces must be an article id")
    return {**body, "attachments": attachments}


def withdraw_reason(body: Any) -> str:
    """A withdraw request's reason, checked: 1 to 200 characters; requested_by a string."""
    if not isinstance(body, dict):
        raise PortalError(400, "invalid_request", "the body must be a JSON object")
    reason = body.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_WITHDRAW_REASON_CHARS:
        raise PortalError(
            422, "invalid_field", f"reason must be 1 to {MAX_WITHDRAW_REASON_CHARS} chars"
        )
    if body.get("requested_by") is not None and not isinstance(body["requested_by"], str):
        raise PortalError(422, "invalid_field", "requested_by must be a string")
    return reason


def _is_zoned_iso(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def attachment_kind(filename: str, head: bytes) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    signature = SIGNATURES.get(extension)
    if signature is None or not head.startswith(signature):
        raise PortalError(415, "unsupported_type", f"{filename!r} is not an allowed file type")
    return "jpg" if extension == "jpeg" else extension

"""WARC 1.1 (gzip, one member per record) from captured exchanges, with warcio:
a `warcinfo`, then per exchange a `request` and a `response` built from the bytes as
received (status line, headers, body) — or a `revisit` when the page is unchanged since
the capture it refers to (a 304, or the same payload digest).

    data = warc_file(filename, [(exchange, None), (again, Revisit(uri, date, digest))])
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from service.capture.port import Exchange

SOFTWARE = "disclosure-service (政府信息公开报送服务) capture"
NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"


@dataclass(frozen=True)
class Revisit:
    """The earlier capture an unchanged fetch refers to."""

    uri: str
    date: datetime
    payload_digest: str  # "sha1:…" as in the earlier response record


def payload_digest(body: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def warc_file(filename: str, exchanges: Sequence[tuple[Exchange, Revisit | None]]) -> bytes:
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = {"software": SOFTWARE, "format": "WARC File Format 1.1"}
    writer.write_record(writer.create_warcinfo_record(filename, info))
    for exchange, revisit in exchanges:
        if exchange.status is None:
            continue  # no answer: nothing was exchanged to record
        _write_exchange(writer, exchange, revisit)
    return out.getvalue()


def _write_exchange(writer: WARCWriter, exchange: Exchange, revisit: Revisit | None) -> None:
    date = {"WARC-Date": _date(exchange.at)}
    request = StatusAndHeaders(
        exchange.request_line, list(exchange.request_headers), is_http_request=True
    )
    writer.write_record(
        writer.create_warc_record(exchange.url, "request", http_headers=request,
                                  warc_headers_dict=dict(date))
    )  # fmt: skip
    response = StatusAndHeaders(
        exchange.status_line, list(exchange.headers), protocol=exchange.status_line.split(" ")[0]
    )
    if revisit is not None:
        record = writer.create_revisit_record(
            exchange.url, revisit.payload_digest, revisit.uri, _date(revisit.date),
            http_headers=response, warc_headers_dict=dict(date),
        )  # fmt: skip
        if exchange.status == 304:
            record.rec_headers.replace_header("WARC-Profile", NOT_MODIFIED)
        writer.write_record(record)
        return
    headers = dict(date)
    if exchange.truncated:
        headers["WARC-Truncated"] = "length"
    writer.write_record(
        writer.create_warc_record(exchange.url, "response", payload=io.BytesIO(exchange.body),
                                  length=len(exchange.body), http_headers=response,
                                  warc_headers_dict=headers)
    )  # fmt: skip


def response_digest(data: bytes) -> str | None:
    """The payload digest of the first response record in a WARC we wrote (what a
    revisit refers to); None when there is none."""
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data)):
        if record.rec_type == "response":
            digest = record.rec_headers.get_header("WARC-Payload-Digest")
            return str(digest) if digest else None
    return None

"""Streaming the multipart body of a submission: the small `metadata` part into memory
(bounded), the `file` part straight into a hashed spool file on disk — one pass over
the bytes, no intermediate copy, the size limit enforced as they arrive."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from service.domain.errors import InvalidInput
from service.uploads import Spool, SpoolListener, Upload

MAX_BOUNDARY = 70  # RFC 2046 §5.1.1
MAX_FILENAME_BYTES = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FIELDS = frozenset({"metadata", "file"})
# Called as the file part begins, with the fields read so far, the file's name and its
# spool path: may return a listener told of the spool's growth (see `Spool.listen`).
OnFile = Callable[[Mapping[str, str], str, Path], SpoolListener | None]


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(
        "multipart 请求体格式错误",
        f"Malformed multipart body: {reason}",
        code="malformed_multipart",
    )


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")  # RFC 7578 §4.2: UTF-8 file names as they are
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[bytes, bytes] = field(default_factory=dict)
    text: bytearray = field(default_factory=bytearray)


class SubmissionBody:
    """Receives one submission. After `read`, `fields` holds the text parts and `upload`
    the spooled file (the caller removes it)."""

    def __init__(
        self,
        boundary: bytes,
        *,
        max_upload_bytes: int,
        max_field_bytes: int,
        on_file: OnFile | None = None,
        field_names: frozenset[str] = FIELDS,
    ) -> None:
        """`field_names`: the parts it takes (the API's `metadata` and `file`; a page's form
        names its own fields); `file` is the one spooled to disk."""
        self.fields: dict[str, str] = {}
        self._names = field_names
        self._on_file = on_file
        self.upload: Upload | None = None
        self._max_upload = max_upload_bytes
        self._max_field = max_field_bytes
        self._part = _Part()
        self._spool: Spool | None = None
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._header_field.extend(d[s:e]),
                "on_header_value": lambda d, s, e: self._header_value.extend(d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    async def read(self, chunks: AsyncIterator[bytes], spool_dir: Path | None = None) -> None:
        self._spool_dir = spool_dir
        try:
            async for chunk in chunks:
                self._parser.write(chunk)
            self._parser.finalize()
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        if self._spool is not None:
            self._spool.discard()
        if self.upload is not None:
            self.upload.path.unlink(missing_ok=True)

    def _begin(self) -> None:
        self._part = _Part()

    def _header_end(self) -> None:
        self._part.headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part.headers.get(b"content-disposition", b""))
        name = _decoded(options.get(b"name", b""))
        if name not in self._names:
            raise _malformed(
                f"unexpected part {name!r} (expected {', '.join(sorted(self._names))})"
            )
        if name in self.fields or (name == "file" and self.upload is not None):
            raise _malformed(f"the part {name!r} is repeated")
        self._part.name = name
        if name == "file":
            filename = options.get(b"filename")
            self._part.filename = _filename(_decoded(filename)) if filename else "upload"
            self._spool = Spool(self._part.filename, self._max_upload, self._spool_dir)
            if self._on_file is not None:
                listener = self._on_file(self.fields, self._part.filename, self._spool.path)
                if listener is not None:
                    self._spool.listen(listener)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._spool is not None:
            self._spool.write(data[start:end])
            return
        self._part.text.extend(data[start:end])
        if len(self._part.text) > self._max_field:
            raise _malformed(f"the part {self._part.name!r} is over {self._max_field} bytes")

    def _end(self) -> None:
        if self._spool is not None:
            self.upload, self._spool = self._spool.finish(), None
        elif self._part.name:
            self.fields[self._part.name] = _decoded(bytes(self._part.text))


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput(
            "请求须为 multipart/form-data",
            "The body must be multipart/form-data",
            code="multipart_required",
        )
    if len(boundary) > MAX_BOUNDARY:
        raise _malformed(f"the boundary is over {MAX_BOUNDARY} characters (RFC 2046)")
    return boundary


def _filename(name: str) -> str:
    """The file's name as sent, refused when no file system or zip could hold it."""
    if _CONTROL.search(name) or len(name.encode()) > MAX_FILENAME_BYTES:
        raise InvalidInput(
            f"文件名含控制字符或超过 {MAX_FILENAME_BYTES} 字节",
            f"The file name has a control character or is over {MAX_FILENAME_BYTES} bytes",
            code="invalid_filename",
        )
    return name

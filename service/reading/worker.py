"""A reading worker: `nice python -m service.reading.worker MEMORY_BYTES`, started and fed
by service.reading.pool. It confines its address space, then reads
one document per request from stdin and answers on stdout, both as length-prefixed
JSON (never pickle: the parent does not trust a process that parsed a hostile file).

    request   {"path": "…", "filename": "年报.pdf", "tables": true, "limits": {…}}
    answer    {"read": [document | null, [finding, …]]}   or   {"failed": "memory"}

Once its libraries are loaded it says so with an empty message: it is warm.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
from pathlib import Path
from typing import IO, Any

from pydantic import TypeAdapter

from service.domain.findings import Finding
from service.validation.formats.documents import Document, DocumentLimits, read_document

HEADER = struct.Struct(">I")
READ = TypeAdapter(tuple[Document | None, list[Finding]])
LIMITS = TypeAdapter(DocumentLimits)
MAX_REQUEST_BYTES = 1024 * 1024


def main() -> None:
    memory = int(sys.argv[1])
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the answers
    _warm()
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    send(answers, b"")
    requests = sys.stdin.buffer
    while (request := receive(requests, MAX_REQUEST_BYTES)) is not None:
        send(answers, _answer(json.loads(request)))


def _warm() -> None:
    """Import PDFium before the first document arrives (pdf_files imports it lazily, for
    processes that never read a PDF). pdfplumber (about 16 MB) comes with the first
    table, which only a 年报 asks for."""
    import pypdfium2  # noqa: F401


def _answer(request: dict[str, Any]) -> bytes:
    try:
        read = read_document(
            Path(request["path"]),
            request["filename"],
            LIMITS.validate_python(request["limits"]),
            tables=bool(request["tables"]),
        )
    except MemoryError:
        return b'{"failed": "memory"}'
    except RecursionError:
        return b'{"failed": "depth"}'
    return b'{"read": ' + READ.dump_json(read) + b"}"


def send(stream: IO[bytes], data: bytes) -> None:
    stream.write(HEADER.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes], limit: int) -> bytes | None:
    """One message, or None at the end of the stream."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    if size > limit:
        raise ValueError(f"message of {size} bytes, over {limit}")
    data = stream.read(size)
    if len(data) < size:
        return None
    return data


if __name__ == "__main__":
    main()

"""The port through which use cases read an uploaded or archived document: in `serve`,
a pool of confined worker processes (service.reading.pool); in a command, this process."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from service.domain.findings import Finding
from service.validation.formats.documents import Document

Read = tuple[Document | None, list[Finding]]  # the document, or None, and what reading found


class DocumentReader(Protocol):
    def read(
        self, path: Path, filename: str, *, tables: bool = False, owner: str | None = None
    ) -> Read:
        """`owner`: who asks (a principal's name), for a fair share of the readers."""
        ...

    def close(self) -> None: ...

"""The zip an export streams into: cut off on error, so a failed export is no zip."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class WritableStream(Protocol):
    """Where `write_zip` sends the zip: a file, a pipe, a response body."""

    def write(self, data: bytes, /) -> object: ...
    def flush(self) -> None: ...


class Sink:
    """Passes the zip's bytes to `out` until cut off, after which it drops them: a failed
    export must not end with the closing records that `ZipFile` writes on exit."""

    def __init__(self, out: WritableStream) -> None:
        self._out = out
        self._cut = False

    def write(self, data: bytes) -> int:
        if not self._cut:
            self._out.write(data)
        return len(data)

    def flush(self) -> None:
        if not self._cut:
            self._out.flush()

    def close(self) -> None:
        """`out` belongs to the caller, who closes it."""

    @contextmanager
    def cut_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._cut = True
            raise

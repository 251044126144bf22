"""A fixity audit of one package: every recorded file re-hashed from storage, and the
files that nothing records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from service.archive.fixity import (
    FixityReport,
    Mismatch,
    hash_stream,
)
from service.archive.packages.names import MANIFEST
from service.archive.port import ArchiveStore
from service.domain.errors import FixityMismatch, ObjectMissing


class Audit:
    """Collects what `Packages.verify` finds in one package."""

    def __init__(self, store: ArchiveStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self.checked = 0
        self.missing: list[str] = []
        self.mismatched: list[Mismatch] = []
        self.unreadable: list[str] = []
        self.extra: list[str] = []
        self.foreign: list[str] = []
        self._looked: set[str] = set()  # the paths whose versions were listed

    def manifest(self, read: Callable[[str], dict[str, str]]) -> dict[str, str]:
        """The manifest as `read` (`Packages.read_manifest`) reads it, checked."""
        self._overwritten(MANIFEST)
        try:
            return read(self._prefix)
        except FixityMismatch:
            self.unreadable.append(MANIFEST)
            return {}

    def check(self, path: str, recorded: str) -> None:
        try:
            with self._store.open(self._prefix + path) as stream:
                found = hash_stream(stream)[0]
        except ObjectMissing:
            self.missing.append(path)
            return
        self.checked += 1
        if found != recorded.lower():
            self.mismatched.append(Mismatch(path, recorded.lower(), found))
        self._overwritten(path)

    def _overwritten(self, path: str) -> None:
        if path in self._looked:
            return
        self._looked.add(path)
        self.foreign.extend(
            f"{path}: {what}" for what in self._store.overwrites(self._prefix + path)
        )

    def require(self, *paths: str) -> None:
        """Tag files recorded nowhere but the package: present, and not written over."""
        for path in paths:
            if self._store.stat(self._prefix + path) is None:
                self.missing.append(path)
            else:
                self._overwritten(path)

    def unrecorded(self, under: str, recorded: Mapping[str, str]) -> None:
        present = (key.removeprefix(self._prefix) for key in self._store.list(under))
        self.extra.extend(path for path in present if path not in recorded)

    def report(self) -> FixityReport:
        return FixityReport(
            self._prefix,
            complete=True,
            checked=self.checked,
            missing=tuple(self.missing),
            mismatched=tuple(self.mismatched),
            unreadable=tuple(self.unreadable),
            extra=tuple(self.extra),
            foreign=tuple(self.foreign),
        )

"""A checked upload, kept so that 「提交报送」 after 「校验」 needs no second choice of the
file: the spooled file moves to a directory of held files under a random id, which the
form carries in a hidden field; a sidecar JSON says whose session it is, its name, size
and SHA-256 and when it was held.

    held = HeldUploads(directory, ttl_s=1800, max_files=20)
    ident = held.hold(upload, owner, now)     # the session's previous one goes
    held.take(ident, owner, now)              # → Upload, or None (unknown, expired, not theirs)
    held.release(ident)                       # after a filing was accepted

Bounded: one per session, at most `max_files` in all (the oldest go first), each no
larger than the upload limit, none kept past `ttl_s`. `owner` is a digest of the session
(its CSRF secret): an id seen by anyone else is of no use to them."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from service.uploads import Upload

_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def owner_of(session_name: str, csrf: str) -> str:
    return hashlib.sha256(f"{session_name}\n{csrf}".encode()).hexdigest()


@dataclass(frozen=True)
class HeldUploads:
    directory: Path
    ttl_s: float = 1800.0
    max_files: int = 20

    def hold(self, upload: Upload, owner: str, now: datetime) -> str:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._sweep(owner, now)
        ident = secrets.token_urlsafe(24)
        shutil.move(upload.path, self._file(ident))
        sidecar = {"owner": owner, "filename": upload.filename, "size": upload.size,
                   "sha256": upload.sha256, "at": now.timestamp()}  # fmt: skip
        self._sidecar(ident).write_text(json.dumps(sidecar), encoding="utf-8")
        return ident

    def take(self, ident: str, owner: str, now: datetime) -> Upload | None:
        if not _ID.match(ident):
            return None
        try:
            sidecar = json.loads(self._sidecar(ident).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if sidecar.get("owner") != owner or self._expired(sidecar, now):
            return None
        path = self._file(ident)
        if not path.exists():
            return None
        return Upload(str(sidecar["filename"]), path, int(sidecar["size"]), str(sidecar["sha256"]))

    def release(self, ident: str) -> None:
        if _ID.match(ident):
            self._file(ident).unlink(missing_ok=True)
            self._sidecar(ident).unlink(missing_ok=True)

    def _sweep(self, owner: str, now: datetime) -> None:
        """Expired ones, the owner's earlier one, and the oldest beyond the cap go."""
        kept: list[tuple[float, str]] = []
        for sidecar_path in self.directory.glob("*.json"):
            ident = sidecar_path.stem
            try:
                sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.release(ident)
                continue
            if sidecar.get("owner") == owner or self._expired(sidecar, now):
                self.release(ident)
            else:
                kept.append((float(sidecar.get("at", 0)), ident))
        for _, ident in sorted(kept)[: max(0, len(kept) - self.max_files + 1)]:
            self.release(ident)

    def _expired(self, sidecar: dict[str, object], now: datetime) -> bool:
        at = sidecar.get("at")
        return not isinstance(at, (int, float)) or now.timestamp() - at > self.ttl_s

    def _file(self, ident: str) -> Path:
        return self.directory / f"{ident}.upload"

    def _sidecar(self, ident: str) -> Path:
        return self.directory / f"{ident}.json"

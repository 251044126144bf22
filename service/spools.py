"""Where a process spools the uploads it receives: a directory of its own under one root,
locked for as long as the process lives, so that what a killed process left behind is
found and cleared — by the next process to start, or by `disclosure reconcile` — and a
live process's uploads never are (two API processes may share one root).

    area = SpoolArea.claim(root)       # root/<pid>-<random>/, its .lock held
    Spool(name, limit, area.path)      # uploads go there
    sweep(root)                        # Swept(directories=1, files=3, bytes=…)
    area.release()                     # on a clean stop: the directory goes too
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def default_root() -> Path:
    return Path(tempfile.gettempdir()) / "disclosure-uploads"


@dataclass
class SpoolArea:
    """root/<id>/ for the uploads, root/<id>.lock held while the process lives. The lock
    is taken under a name nobody sweeps, then renamed into place, so that no sweep ever
    sees an area before its owner holds it."""

    path: Path
    _lock: IO[bytes]

    @classmethod
    def claim(cls, root: Path) -> SpoolArea:
        root.mkdir(parents=True, exist_ok=True)
        ident = f"{os.getpid()}-{secrets.token_hex(4)}"
        claiming = root / f".{ident}.claiming"
        lock = claiming.open("wb")
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        claiming.rename(root / f"{ident}.lock")
        path = root / ident
        path.mkdir(mode=0o700)
        return cls(path, lock)

    def release(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.with_name(f"{self.path.name}.lock").unlink(missing_ok=True)
        self._lock.close()


@dataclass(frozen=True)
class Swept:
    directories: int = 0
    files: int = 0
    bytes: int = 0

    def __add__(self, other: Swept) -> Swept:
        return Swept(
            self.directories + other.directories,
            self.files + other.files,
            self.bytes + other.bytes,
        )


def sweep(root: Path) -> Swept:
    """Remove every area under `root` whose lock no process holds (its owner died)."""
    swept = Swept()
    if root.is_dir():
        for lock in sorted([*root.glob("*.lock"), *root.glob(".*.claiming")]):
            swept += _if_abandoned(lock)
    return swept


def _if_abandoned(lock_path: Path) -> Swept:
    try:
        lock = lock_path.open("ab")
    except OSError:
        return Swept()
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Swept()  # its owner lives
        area = lock_path.with_name(lock_path.name.removesuffix(".lock"))
        existed = area.is_dir()
        sizes = [p.stat().st_size for p in area.glob("*") if p.is_file()] if existed else []
        shutil.rmtree(area, ignore_errors=True)
        lock_path.unlink(missing_ok=True)
        return Swept(int(existed), len(sizes), sum(sizes))

"""A checked upload held for the pages' 「提交报送」: bound to its session, bounded in
number and time, gone once used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from service.entrypoints.pages.held import HeldUploads
from service.uploads import Upload, hashed_upload

NOW = datetime(2024, 1, 12, tzinfo=UTC)


def _upload(tmp_path: Path, name: str, content: bytes) -> Upload:
    path = tmp_path / f"spooled-{name}"
    path.write_bytes(content)
    return hashed_upload(path, name)


def test_a_held_file_is_given_back_to_its_session_only(tmp_path: Path) -> None:
    held = HeldUploads(tmp_path / "held", ttl_s=60)
    ident = held.hold(_upload(tmp_path, "a.txt", b"abc"), "mine", NOW)
    assert held.take(ident, "someone else", NOW) is None
    assert held.take("../../etc/passwd", "mine", NOW) is None
    taken = held.take(ident, "mine", NOW)
    assert taken is not None
    assert (taken.filename, taken.size, taken.path.read_bytes()) == ("a.txt", 3, b"abc")
    assert held.take(ident, "mine", NOW + timedelta(seconds=61)) is None  # expired


def test_a_session_holds_one_file_and_all_hold_at_most_the_cap(tmp_path: Path) -> None:
    held = HeldUploads(tmp_path / "held", ttl_s=600, max_files=2)
    first = held.hold(_upload(tmp_path, "1.txt", b"1"), "mine", NOW)
    second = held.hold(_upload(tmp_path, "2.txt", b"2"), "mine", NOW)
    assert held.take(first, "mine", NOW) is None  # replaced by the session's next
    others = [
        held.hold(_upload(tmp_path, f"{n}.txt", b"x"), f"other-{n}", NOW + timedelta(seconds=n))
        for n in range(1, 3)
    ]
    assert held.take(second, "mine", NOW) is None  # the oldest went to stay under the cap
    assert all(held.take(i, f"other-{n}", NOW) for n, i in enumerate(others, 1))
    assert len(list((tmp_path / "held").glob("*.upload"))) == 2


def test_a_released_or_expired_file_is_deleted(tmp_path: Path) -> None:
    held = HeldUploads(tmp_path / "held", ttl_s=60)
    used = held.hold(_upload(tmp_path, "a.txt", b"a"), "a", NOW)
    stale = held.hold(_upload(tmp_path, "b.txt", b"b"), "b", NOW)
    held.release(used)
    held.hold(_upload(tmp_path, "c.txt", b"c"), "c", NOW + timedelta(seconds=61))  # sweeps
    names = sorted(p.name for p in (tmp_path / "held").iterdir())
    assert not [n for n in names if n.startswith((used, stale))]
    assert len(names) == 2  # c's file and its sidecar

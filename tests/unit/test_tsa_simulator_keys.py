"""The TSA simulator's keys, kept in the data directory that serve, the workers and tick
share: processes starting at once end up with one root, never a half-written key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service.simulators.tsa.authority import Authority


def test_authorities_made_at_once_in_one_directory_share_one_root(tmp_path: Path) -> None:
    kept = tmp_path / "var" / "tsa-simulator"
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(pool.map(lambda _: Authority.kept_in(kept), range(4)))
    roots = {a.root_pem for a in made}
    assert len(roots) == 1
    assert roots == {(kept / "root.pem").read_bytes()}
    assert (kept / "tsa.key").stat().st_mode & 0o077 == 0  # the key is its owner's alone
    assert sorted(p.name for p in kept.parent.iterdir()) == ["tsa-simulator"]  # no leftovers
    assert Authority.kept_in(kept).tsa_pem == made[0].tsa_pem  # a restart reads the same

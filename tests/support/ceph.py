"""A throwaway single-node Ceph cluster with a RADOS Gateway, for tests and the bench.

    with ceph_rgw() as rgw:          # one mon, one OSD, one radosgw, all on 127.0.0.1
        rgw.endpoint_url              # http://127.0.0.1:PORT, path-style S3
        rgw.access_key, rgw.secret_key

Everything lives in one temporary directory (config, keyring, sockets, logs, the OSD's
sparse bluestore file) that is removed afterwards; the daemons run in the foreground
as our children and are stopped rgw → osd → mon (an OSD whose mon is gone waits).
Built from the measured facts in shared/notes/ceph-rgw.md: msgr v2 only, no cephx
(`ms mon client mode = crc` for radosgw), size-1 pools with 8 PGs, and
`paxos propose interval = 0.05`, without which start-up takes 12–16 s. Two more
measured here: radosgw and `radosgw-admin` are started only once the OSD is up
(pools created before then stall ~5 s: start-up 6 s instead of 2), and beast gets
`tcp_nodelay=1` (without it every response with a body waits ~40 ms for a delayed ACK:
a GET or a listing takes 44 ms instead of 3). Start-up takes ~2 s on 2 cores.

`ceph_missing()` says why the cluster cannot start here (packages absent), or None.
"""

from __future__ import annotations

import ctypes
import json
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.servers import free_port

BINARIES = (
    "ceph-mon",
    "ceph-osd",
    "radosgw",
    "radosgw-admin",
    "ceph",
    "monmaptool",
    "ceph-authtool",
)
START_TIMEOUT_S = 60.0
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started it dies, so
    a test run killed hard leaves no daemon behind (Linux prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def ceph_missing() -> str | None:
    absent = [b for b in BINARIES if shutil.which(b) is None]
    if absent:
        return (
            f"Ceph binaries not installed ({', '.join(absent)}); `make ceph-packages` installs them"
        )
    return None


@dataclass
class CephRGW:
    endpoint_url: str
    access_key: str
    secret_key: str
    directory: Path
    started_in_s: float
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)

    def daemon_pids(self) -> dict[str, int]:
        """The process id of each daemon, by its program's name (ceph-mon, ceph-osd, radosgw)."""
        return {Path(str(p.args[0])).name: p.pid for p in self._procs}

    def log(self, name: str) -> str:
        path = self.directory / "log" / f"ceph-{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _config(root: Path, mon_port: int, rgw_port: int, fsid: str) -> str:
    return f"""\
[global]
fsid = {fsid}
mon host = v2:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind msgr2 = true
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon pg warn min per osd = 0
paxos propose interval = 0.05
run dir = {root}/run
admin socket = {root}/run/$cluster-$name.asok
log file = {root}/log/$cluster-$name.log
pid file = {root}/run/$cluster-$name.pid
crash dir = {root}/crash
exec dir = {root}/run
keyring = {root}/keyring
mon data = {root}/mon/$cluster-$id
osd data = {root}/osd/$cluster-$id
log to stderr = false
err to stderr = true
debug ms = 0

[osd]
osd objectstore = bluestore
bluestore block path = {root}/osd/block-$id
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mkfs = false
bdev aio poll ms = 10
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2

[client]
ms mon client mode = crc

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:{rgw_port} tcp_nodelay=1
rgw data = {root}/rgw
rgw dns name = 127.0.0.1
ms mon client mode = crc
"""


class _Cluster:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "ceph.conf"
        self.procs: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, timeout_s: float = 30.0) -> str:
        done = subprocess.run(
            [*args, "-c", str(self.conf)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
        return done.stdout

    def osd_up(self) -> bool:
        stat = json.loads(self.run("ceph", "osd", "stat", "--format=json") or "{}")
        return bool(stat.get("num_up_osds") == 1)

    def daemon(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.root / "log" / f"{args[0]}.out").open("ab") as out:
            proc = subprocess.Popen(
                [*args, "-f", "-c", str(self.conf)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )
        self.procs.append(proc)
        return proc

    def log_tails(self, lines: int = 15) -> str:
        tails = []
        for log in sorted((self.root / "log").glob("*")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"--- {log.name}\n" + "\n".join(text))
        return "\n".join(tails)

    def stop(self) -> None:
        """rgw, osd, mon: each TERM, then KILL after a few seconds."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def _wait(
    what: str, ready: Callable[[], bool], procs: list[subprocess.Popen[bytes]], deadline: float
) -> None:
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {what}")
        if ready():
            return
        time.sleep(0.05)
    raise TimeoutError(f"Ceph: {what} not ready in {START_TIMEOUT_S} s")


def _rgw_answers(url: str) -> bool:
    try:
        httpx.get(url, timeout=1)
    except httpx.TransportError:
        return False
    return True


@contextmanager
def ceph_rgw(*, base_dir: Path | None = None) -> Iterator[CephRGW]:
    """Start mon, OSD and radosgw on free loopback ports; yield the S3 endpoint; tear down."""
    reason = ceph_missing()
    if reason:
        raise RuntimeError(reason)
    started = time.monotonic()
    deadline = started + START_TIMEOUT_S
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ceph-", dir=base_dir)))
        for sub in ("run", "log", "crash", "mon/ceph-a", "osd/ceph-0", "rgw"):
            (root / sub).mkdir(parents=True)
        mon_port, rgw_port = free_port(), free_port()
        fsid = str(uuid.uuid4())
        cluster = _Cluster(root)
        cluster.conf.write_text(_config(root, mon_port, rgw_port, fsid))
        stack.callback(cluster.stop)
        try:
            url, access_key, secret_key = _start(cluster, fsid, mon_port, rgw_port, deadline)
        except Exception as exc:
            raise RuntimeError(f"Ceph did not start: {exc}\n{cluster.log_tails()}") from exc
        yield CephRGW(url, access_key, secret_key, root, time.monotonic() - started, cluster.procs)


def _start(
    cluster: _Cluster, fsid: str, mon_port: int, rgw_port: int, deadline: float
) -> tuple[str, str, str]:
    """mon → OSD → radosgw and an S3 user; the endpoint and the user's keys."""
    root = cluster.root
    keyring = str(root / "keyring")
    cluster.run("ceph-authtool", "--create-keyring", keyring, "--gen-key", "-n", "mon.")
    monmap = str(root / "monmap")
    cluster.run(
        "monmaptool", "--create", "--fsid", fsid,
        "--addv", "a", f"[v2:127.0.0.1:{mon_port}]", monmap,
    )  # fmt: skip
    cluster.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", monmap, "--keyring", keyring)
    mon = cluster.daemon("ceph-mon", "-i", "a")

    osd_uuid = str(uuid.uuid4())
    osd_id = cluster.run("ceph", "osd", "new", osd_uuid, timeout_s=START_TIMEOUT_S).strip()
    cluster.run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid, timeout_s=60)
    osd = cluster.daemon("ceph-osd", "-i", osd_id)
    # Pools made before the OSD is up stall their creator ~5 s: wait for it first.
    _wait("the OSD", cluster.osd_up, [mon, osd], deadline)
    rgw = cluster.daemon("radosgw", "-n", "client.rgw.a")

    access_key = "TEST" + secrets.token_hex(8).upper()
    secret_key = secrets.token_hex(20)
    cluster.run(
        "radosgw-admin", "user", "create", "--uid=test", "--display-name=test",
        f"--access-key={access_key}", f"--secret={secret_key}",
        timeout_s=START_TIMEOUT_S,
    )  # fmt: skip
    url = f"http://127.0.0.1:{rgw_port}"
    _wait("radosgw", lambda: _rgw_answers(url), [mon, osd, rgw], deadline)
    return url, access_key, secret_key

"""Archive throughput on a real S3: raw boto3 against our ingest through the HTTP API.

    .venv/bin/python bench/archive.py                 # Ceph RGW and moto, each started here
    .venv/bin/python bench/archive.py --servers ceph --no-1gb

For each server (a throwaway single-node Ceph RGW, then a moto server process), on one
bucket (on Ceph with versioning and Object Lock, the production shape), it prints for
files of 100 KB, 10 MB and 100 MB:

- raw `put_object` and `upload_fileobj` throughput (boto3, from a file on disk);
- our ingest throughput: `disclosure serve` as a subprocess with
  DISCLOSURE_ARCHIVE_URL=s3://…, each file POSTed to /v1/filings as a livelihood item
  routed to no destination (archived, not published), timed until the 201; the client
  streams the body in 1 MiB chunks, metadata first, declaring the file's SHA-256
  (hashed inside the timing), so the file is archived while it arrives;
- `S3Store.put_new` alone (in this process), the archive's share of ingest;
- ingest / best raw, the ratio (target ≥ 0.7 at 10 MB);

each from the median of rounds that take one of each in turn, after one warm-up each;

and, on Ceph only: the CPU milliseconds that RGW, the OSD, serve and the client spend
per 10 MB file, raw put against ingest (on these 2 cores, CPU / 2 bounds the wall time
from below); the seconds to the 201 for a client sending at 25 MB/s, with and
without the declared SHA-256 (archived while it arrives, or once it has); and (moto
keeps every byte in RAM) the serve process's peak RSS
(VmHWM) after ingesting a 1 GB file (target < 150 MB), and that of a process that only
puts the 1 GB file through the S3 store.

On moto the bucket is unversioned: moto answers ListObjectVersions by deep-copying
every object in the bucket, so on a versioned moto bucket each put costs O(bytes
stored) and the figures would measure moto (measured: ingest ~4 MB/s at 10 MB).

The uploads are DOCX files: a real livelihood notice plus unreferenced, stored
(uncompressed) padding parts of random bytes to reach the size, so validation reads
only the text. Prints figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.bodies import NANKAI_OFFICE, write_registry  # noqa: E402
from tests.support.ceph import ceph_rgw  # noqa: E402
from tests.support.documents import write_padded_docx  # noqa: E402
from tests.support.moto_server import moto_server  # noqa: E402
from tests.support.s3 import S3Server  # noqa: E402
from tests.support.servers import Process, base_env, free_port, start_process  # noqa: E402

KB, MB, MiB = 1000, 1000 * 1000, 1024 * 1024
SIZES = {"100 KB": (100 * KB, 20), "10 MB": (10 * MB, 10), "100 MB": (100 * MB, 3)}
ONE_GB = 1000 * MB
TOKEN = "demo-bench-token"
BUCKET = "bench"
NOTICE = """关于2024年春季学期义务教育阶段学校招生工作的公告
根据市教育局统一部署，现将本区2024年春季学期义务教育阶段学校招生工作有关事项公告如下：
一、招生对象为本区户籍及符合条件的随迁子女适龄儿童。
二、报名时间为2024年3月5日至3月20日，逐一审核材料。
三、咨询电话：022-00000000。"""


# -- the files ---------------------------------------------------------------------


def make_upload(directory: Path, size: int) -> Path:
    """A valid livelihood DOCX of about `size` bytes, padded with stored random parts."""
    path = directory / f"notice-{size}.docx"
    return path if path.exists() else write_padded_docx(path, NOTICE, size)


_periods = itertools.count()


def metadata(file_sha256: str | None = None) -> str:
    """A new period each time: the same file twice for one period is refused (409)."""
    period = date(2020, 1, 1) + timedelta(days=next(_periods))
    document: dict[str, Any] = {
        "category": "livelihood",
        "org_code": NANKAI_OFFICE,
        "org_name": "南开区合作交流办",
        "period": period.isoformat(),
        "livelihood": {"field": "教育"},
    }
    if file_sha256 is not None:
        document["file_sha256"] = file_sha256
    return json.dumps(document, ensure_ascii=False)


# -- measuring --------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    raw_put: float  # MB/s
    raw_upload_fileobj: float
    store: float  # S3Store.put_new alone
    ingest: float

    @property
    def ratio(self) -> float:
        return self.ingest / max(self.raw_put, self.raw_upload_fileobj)


def interleaved(size: int, rounds: int, runs: list[Callable[[int], None]]) -> list[float]:
    """MB/s of each run, from the median of `rounds` timings taken in turn (one of each
    per round), so that a server that speeds up or slows down over the minutes of the
    bench weighs on every figure alike."""
    times: list[list[float]] = [[] for _ in runs]
    for n in range(rounds):
        for run, timings in zip(runs, times, strict=True):
            started = time.perf_counter()
            run(n)
            timings.append(time.perf_counter() - started)
    return [size / sorted(t)[len(t) // 2] / MB for t in times]


def raw_put(client: Any, path: Path, label: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        with path.open("rb") as body:
            client.put_object(Bucket=BUCKET, Key=f"raw/put/{label}/{n}", Body=body)

    return run


def raw_upload_fileobj(client: Any, path: Path, label: str) -> Callable[[int], None]:
    def run(n: int) -> None:
        with path.open("rb") as body:
            client.upload_fileobj(body, BUCKET, f"raw/upload/{label}/{n}")

    return run


def ingest(
    service: Process, path: Path, *, declare: bool = True, rate: float | None = None
) -> Callable[[int], None]:
    """POST the file as a client on another machine would: one kept-alive connection,
    the multipart body streamed from disk in 1 MiB chunks with its Content-Length, the
    metadata part first, declaring the file's SHA-256 (unless not `declare`), at most
    `rate` bytes a second when given. (httpx's own `files=` encoder reads 64 KiB at a
    time and costs about three times the CPU of boto3's upload, CPU that on this 2-core
    machine the service and RGW share.)"""
    client = httpx.Client(base_url=service.url, timeout=600)

    def run(_: int) -> None:
        boundary = secrets.token_hex(16)
        head = (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="metadata"\r\n'
            "Content-Type: application/json\r\n\r\n"
            f"{metadata(file_sha256(path) if declare else None)}\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="招生公告.docx"\r\n'
            "Content-Type: application/vnd.openxmlformats-officedocument"
            ".wordprocessingml.document\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head
            started, sent = time.perf_counter(), 0
            with path.open("rb") as file:
                while chunk := file.read(MiB):
                    if rate is not None:  # as over a network of that speed
                        time.sleep(max(0.0, started + sent / rate - time.perf_counter()))
                    sent += len(chunk)
                    yield chunk
            yield tail

        response = client.post(
            "/v1/filings",
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
            },
            content=body(),
        )
        if response.status_code != 201:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:2000]}")

    return run


def file_sha256(path: Path) -> str:
    """What the client declares in the metadata, hashed for each request (it is timed)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def cpu_per_run(processes: dict[str, int], run: Callable[[int], None]) -> dict[str, float]:
    """CPU milliseconds each process spends per run (10 runs), and the wall time."""
    runs = 10
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    started = time.perf_counter()
    for n in range(runs):
        run(1000 + n)
    wall = time.perf_counter() - started
    spent = {
        name: (cpu_seconds(pid) - before[name]) / runs * 1000 for name, pid in processes.items()
    }
    return {**spent, "wall": wall / runs * 1000}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


@contextmanager
def serve(s3: S3Server, work: Path) -> Iterator[Process]:
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = base_env(
        DISCLOSURE_DATA_DIR=str(work / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(work)),
        DISCLOSURE_ARCHIVE_URL=f"s3://{BUCKET}/archive",
        DISCLOSURE_S3_ENDPOINT_URL=s3.endpoint_url,
        DISCLOSURE_MAX_UPLOAD_BYTES=str(2 * ONE_GB),
        DISCLOSURE_ROUTES='{"livelihood": []}',
        DISCLOSURE_LOG_LEVEL="warning",
        MALLOC_ARENA_MAX="2",  # as the Dockerfile sets it
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
    )
    process = start_process(
        ["serve", "--port", str(port)], env, work / "serve.log", f"http://127.0.0.1:{port}/healthz"
    )
    try:
        yield process
    finally:
        process.stop()


def store_put(s3: S3Server, path: Path, label: str) -> Callable[[int], None]:
    """Our S3Store alone, in this process: the archive's share of ingest."""
    store = s3.store(BUCKET, "store")

    def run(n: int) -> None:
        with path.open("rb") as body:
            store.put_new(f"{label}/{n}/{path.name}", body)

    return run


def store_peak_rss_mb(s3: S3Server, path: Path) -> float:
    """Peak RSS of a fresh process that only puts `path` through the S3 store."""
    env = base_env(AWS_ACCESS_KEY_ID=s3.access_key, AWS_SECRET_ACCESS_KEY=s3.secret_key)
    done = subprocess.run(
        [sys.executable, __file__, "--store-rss", s3.endpoint_url, str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def _store_rss(endpoint_url: str, path: str) -> None:
    from service.bootstrap import build_store
    from service.settings import Settings

    store = build_store(f"s3://{BUCKET}/rss", Settings(s3_endpoint_url=endpoint_url))
    with open(path, "rb") as body:
        store.put_new(f"rss/{Path(path).name}", body)
    print(peak_rss_mb(os.getpid()))


@dataclass
class Paced:
    """Seconds from the first byte sent to the 201, for a client sending at CLIENT_RATE."""

    label: str
    transfer_s: float  # the time the body alone takes at that rate
    declared_s: float  # file_sha256 declared: archived while it arrives
    undeclared_s: float  # archived once it has arrived


CLIENT_RATE = 25 * MB  # about a 200 Mbit/s office network


def paced(service: Process, label: str, path: Path) -> Paced:
    size = path.stat().st_size

    def seconds(declare: bool) -> float:
        run = ingest(service, path, declare=declare, rate=CLIENT_RATE)
        times = []
        for n in range(3):
            started = time.perf_counter()
            run(n)
            times.append(time.perf_counter() - started)
        return sorted(times)[1]

    return Paced(label, size / CLIENT_RATE, seconds(True), seconds(False))


@dataclass
class Result:
    name: str
    bucket: str
    figures: list[Figure]
    paced: list[Paced] = field(default_factory=list)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    serve_peak_before_mb: float | None = None
    serve_peak_mb: float | None = None
    store_peak_mb: float | None = None


def bench_server(
    name: str, started: AbstractContextManager[S3Server], work: Path, files: dict[str, Path]
) -> Result:
    with started as s3:
        # moto lists versions by deep-copying every object in the bucket (O(bytes
        # stored) per call), so there the bench uses an unversioned bucket.
        locked = name == "ceph"
        s3.shared_client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=locked)
        result = Result(
            name, "versioning + Object Lock" if locked else "unversioned (see the docstring)", []
        )
        with serve(s3, work / name) as service:
            for label, (_, repeats) in SIZES.items():
                if label not in files:
                    continue
                path = files[label]
                runs = [
                    raw_put(s3.shared_client, path, label),
                    raw_upload_fileobj(s3.shared_client, path, label),
                    store_put(s3, path, label),
                    ingest(service, path),
                ]
                for run in runs:  # connections made, code paths warm
                    run(repeats)
                figures = interleaved(path.stat().st_size, repeats, runs)
                result.figures.append(Figure(label, *figures))
                print(f"  {name} {label}: done", file=sys.stderr)
            if s3.daemons and "10 MB" in files:
                path = files["10 MB"]
                processes = {
                    "radosgw": s3.daemons["radosgw"],
                    "ceph-osd": s3.daemons["ceph-osd"],
                    "serve": service.proc.pid,
                    "client": os.getpid(),
                }
                result.cpu = {
                    "raw put_object": cpu_per_run(
                        processes, raw_put(s3.shared_client, path, "cpu")
                    ),
                    "ingest": cpu_per_run(processes, ingest(service, path)),
                }
            if locked:
                for label in ("10 MB", "100 MB"):
                    if label in files:
                        result.paced.append(paced(service, label, files[label]))
            if "1 GB" in files:
                result.serve_peak_before_mb = peak_rss_mb(service.proc.pid)
                ingest(service, files["1 GB"])(0)
                result.serve_peak_mb = peak_rss_mb(service.proc.pid)
                result.store_peak_mb = store_peak_rss_mb(s3, files["1 GB"])
    return result


def _ceph() -> Iterator[S3Server]:
    with ceph_rgw() as rgw:
        print(f"  Ceph RGW up in {rgw.started_in_s:.1f} s", file=sys.stderr)
        yield S3Server("ceph", rgw.endpoint_url, rgw.access_key, rgw.secret_key, rgw.daemon_pids())


def _moto() -> Iterator[S3Server]:
    with moto_server() as server:
        yield S3Server("moto", server.endpoint_url, server.access_key, server.secret_key)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--servers", default="ceph,moto")
    parser.add_argument("--no-1gb", action="store_true", help="skip the 1 GB peak-RSS run")
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="which of the sizes, comma-separated"
    )
    parser.add_argument(
        "--store-rss", nargs=2, metavar=("ENDPOINT", "FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.store_rss:
        _store_rss(*args.store_rss)
        return
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        work = Path(tmp)
        labels = [label.strip() for label in args.sizes.split(",")]
        files = {label: make_upload(work, SIZES[label][0]) for label in labels}
        for name in args.servers.split(","):
            started = contextmanager(_ceph if name == "ceph" else _moto)()
            wanted = dict(files)
            if name == "ceph" and not args.no_1gb:
                wanted["1 GB"] = make_upload(work, ONE_GB)
            report(bench_server(name, started, work, wanted))


def report(result: Result) -> None:
    print(f"\n{result.name}, bucket {result.bucket}: MB/s (1 MB = 10^6 bytes)")
    print(
        f"  {'size':>8}  {'put_object':>10}  {'upload_fileobj':>14}  {'S3Store':>8}"
        f"  {'ingest':>8}  {'ratio':>6}"
    )
    for f in result.figures:
        print(
            f"  {f.label:>8}  {f.raw_put:>10.1f}  {f.raw_upload_fileobj:>14.1f}  "
            f"{f.store:>8.1f}  {f.ingest:>8.1f}  {f.ratio:>6.2f}"
        )
    print("  ratio = ingest / the better raw boto3 figure (target >= 0.7 at 10 MB)")
    if result.cpu:
        names = [n for n in next(iter(result.cpu.values())) if n != "wall"]
        print("  CPU milliseconds per 10 MB file, by process (2 cores in all):")
        print(f"  {'':>16}" + "".join(f"  {n:>8}" for n in names) + f"  {'all':>6}  {'wall':>6}")
        for label, spent in result.cpu.items():
            cells = "".join(f"  {spent[n]:>8.1f}" for n in names)
            total = sum(spent[n] for n in names)
            print(f"  {label:>16}{cells}  {total:>6.1f}  {spent['wall']:>6.1f}")
    if result.paced:
        print(
            f"  a client sending at {CLIENT_RATE / MB:.0f} MB/s, seconds to the 201 (median of 3):"
        )
        print(f"  {'size':>8}  {'body alone':>10}  {'declared':>8}  {'not declared':>12}")
        for p in result.paced:
            print(
                f"  {p.label:>8}  {p.transfer_s:>10.2f}  {p.declared_s:>8.2f}"
                f"  {p.undeclared_s:>12.2f}"
            )
        print("  declared: file_sha256 in the metadata, the file archived while it arrives")
    if result.serve_peak_mb is not None:
        print(
            f"  serve's peak RSS after ingesting 1 GB: {result.serve_peak_mb:.0f} MB (target < 150;"
            f" {result.serve_peak_before_mb:.0f} MB before it, after the runs above)"
        )
    if result.store_peak_mb is not None:
        print(
            f"  peak RSS of a process putting 1 GB through S3Store: {result.store_peak_mb:.0f} MB"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

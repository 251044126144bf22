"""CPU of capturing published pages, in this process: first captures, re-checks (the
portal answers 304: nothing changed), and the tick's queueing of new captures.

    .venv/bin/python bench/captures.py [--filings 40] [--paragraphs 0] [--profile]

Files the filings (the service on its embedded defaults: SQLite, a directory archive),
delivers them to the portal simulator (a thread of this process), then times — as CPU
of this thread (time.thread_time: the simulator's thread is not counted) plus that of
the document-reading worker processes (psutil) — each round of `capture_due` until
every filing is captured; then a day later, the re-checks (each best of `--repeat`);
then `enqueue_captures` alone once every delivery has its capture (what each tick pays
to find there is nothing to queue). Prints milliseconds of CPU per capture, per
re-check and per queueing call. `--paragraphs`: that many more paragraphs of text in
each report (the sample is short; a real report runs to tens of pages). `--profile`:
cProfile's top functions of the re-checks.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.bootstrap import build_adapters, build_container, build_worker, destinations  # noqa: E402
from service.captures import capture_hosts, capturer_of  # noqa: E402
from service.domain.access import Principal, Role  # noqa: E402
from service.domain.metadata import FilingMetadata  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.uploads import spool  # noqa: E402
from service.usecases.capturing import capture_due  # noqa: E402
from service.usecases.ingest import Origin, submit_filing  # noqa: E402
from tests.support.bodies import sample_metadata, write_registry  # noqa: E402
from tests.support.clock import FakeClock  # noqa: E402
from tests.support.documents import SAMPLE_PATH, docx_from_text  # noqa: E402

OPERATOR = Principal("bench", Role.OPERATOR, frozenset({"*"}))


def _children_cpu_s() -> float:
    """CPU of this process's children so far (the document-reading workers)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            total += times.user + times.system
    return total


READING_MS: list[float] = []  # of the CPU measured, the reading workers' share


def _cpu_ms(work: Callable[[], object]) -> tuple[float, object]:
    children = _children_cpu_s()  # psutil's own CPU (it reads /proc) is left out
    start = time.thread_time()
    result = work()
    spent = time.thread_time() - start
    reading = _children_cpu_s() - children
    READING_MS.append(reading * 1000)
    return (spent + reading) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--filings", type=int, default=40)
    parser.add_argument("--paragraphs", type=int, default=0)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-captures-") as tmp:
        run(Path(tmp), args.filings, args.paragraphs, args.profile)


def run(tmp: Path, filings: int, paragraphs: int, profile: bool) -> None:
    settings = Settings(
        data_dir=tmp / "var", orgs_file=write_registry(tmp),
        routes={"rule_of_law_report": ["portal"]},  # type: ignore[dict-item,list-item]
    )  # fmt: skip
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    sample = SAMPLE_PATH.read_text("utf-8")  # the 2023 report, its plan for 2024
    closing = sample.rindex("南开区合作交流办党组")  # the filler goes before the closing
    filler = "".join(
        f"（{n}）持续推进行政执法“三项制度”，规范行政裁量权基准，加强执法监督，"
        "提升依法行政能力和水平。\n"
        for n in range(paragraphs)
    )
    sample = sample[:closing] + filler + sample[closing:]
    for n in range(filings):
        year = 1980 + n  # one filing per period: the same body's reports of many years
        text = sample.replace("2024", str(year + 1)).replace("2023", str(year))
        upload = spool([docx_from_text(text)], "report.docx", 10**8)
        metadata = FilingMetadata.model_validate(sample_metadata(period=str(year)))
        submit_filing(container.ingest, OPERATOR, metadata, upload, Origin())
    with destinations(settings) as found:
        adapters = build_adapters(container, found.urls)
        worker = build_worker(container, adapters)
        while worker.run_once():
            pass
        capturer = capturer_of(container, capture_hosts(settings, found.urls), "bench")
        assert capturer is not None
        first = _rounds(lambda: capture_due(capturer).captured)
        first_reading = sum(READING_MS)
        READING_MS.clear()
        clock.advance(timedelta(days=1, minutes=1).total_seconds())
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        again = _rounds(lambda: capture_due(capturer).checked)
        again_reading = sum(READING_MS)
        if profiler:
            profiler.disable()
        queued_ms = [_cpu_ms(lambda: container.catalog.enqueue_captures({"portal"}, 20))[0]
                     for _ in range(20)]  # fmt: skip
    container.close()
    print(f"filings: {filings}")
    for what, (ms, done), reading in (
        ("first capture", first, first_reading),
        ("re-check (304)", again, again_reading),
    ):
        each = max(done, 1)
        print(f"{what}: {ms / each:.1f} ms CPU each ({done}), of which reading the"
              f" document {reading / each:.1f} ms")  # fmt: skip
    print(f"enqueue_captures, nothing new: {sorted(queued_ms)[10]:.2f} ms CPU (median of 20)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def _rounds(one_round: Callable[[], int]) -> tuple[float, int]:
    """CPU ms and how many were done, over rounds until one does none."""
    total_ms, done = 0.0, 0
    while True:
        ms, count = _cpu_ms(one_round)
        total_ms += ms
        if not count:
            return total_ms, done
        done += int(count)  # type: ignore[call-overload]


if __name__ == "__main__":
    main()

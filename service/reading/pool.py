"""Reading an uploaded document so that no file can take the service down or hold it up.

Every upload is read in a small warm pool of worker processes (service.reading.worker),
each under an address-space limit (RLIMIT_AS), niced below the service, within a time
budget. A worker that goes over is killed and replaced; the upload gets a
`file_too_complex` finding, never a 500 or a grown process.

- Memory: PDFium and pdfplumber cannot be bounded from Python while they parse (a
  50 MB content stream of drawing operators once took `serve` past 2 GB), and PDFium
  aborts the process when an allocation fails.
- Time: parsing is CPU work under the GIL. Done in the service's process, even a
  DOCX refused in 50 ms holds up every request that waits on I/O (each time it wants
  the GIL back), so two hostile files made a normal submission four times slower.
- Fairness: one principal (token) holds at most `workers - 1` workers at a time (at
  least one), so another's submission is not queued behind its uploads; and a worker
  its file killed counts as held by it until the replacement is warm, so another never
  gets a worker that is still starting.

    reader = PooledReader(limits, ReadingBudget(workers=2, memory_mib=128, seconds=15))
    document, findings = reader.read(path, "年报.pdf", tables=True, owner="operator-wang")
    reader.close()

    InProcessReader(limits)        the same answers, in process: the CLI, tests

The workers are plain `python -m` processes fed length-prefixed JSON, not a
multiprocessing pool: multiprocessing's spawn and forkserver methods re-run the
parent's __main__ in every worker, and pickle would let a worker that a hostile file
subverted run code in the service.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import structlog
from pydantic import ValidationError

from service.domain.findings import Finding, error
from service.reading.port import Read
from service.reading.worker import HEADER, READ, send
from service.validation.formats.documents import DocumentLimits, read_document
from service.validation.formats.limits import ReadProblem, too_complex

log = structlog.get_logger()
MiB = 1024 * 1024
WHERE = "文件"
_NICENESS = 10
_TASKS_PER_WORKER = 200  # then it is replaced, so no worker grows for ever
_ANSWER_OVERHEAD = 16 * MiB  # JSON around the text: origins, tables, findings


@dataclass(frozen=True)
class ReadingBudget:
    """What reading one upload may cost: the DISCLOSURE_READING_* settings."""

    workers: int = 2  # uploads read at once; more wait their turn
    memory_mib: int = 128  # address space of a worker, its Python runtime and libraries included
    seconds: float = 15.0  # wall time for one document

    @property
    def share(self) -> int:
        """The workers one owner may hold at once."""
        return max(1, self.workers - 1)


class InProcessReader:
    def __init__(self, limits: DocumentLimits) -> None:
        self._limits = limits

    def read(
        self, path: Path, filename: str, *, tables: bool = False, owner: str | None = None
    ) -> Read:
        return read_document(path, filename, self._limits, tables=tables)

    def close(self) -> None:
        pass


class _Failed(Exception):
    """A worker gave no answer: it died (memory), ran out of time, or spoke nonsense."""

    def __init__(self, problem: ReadProblem) -> None:
        super().__init__(problem.message_en)
        self.problem = problem


class _Worker:
    def __init__(self, budget: ReadingBudget) -> None:
        env = {**os.environ, "MALLOC_ARENA_MAX": "1"}
        # niced from its first instruction: starting up (imports) yields to the service too
        command = ["nice", "-n", str(_NICENESS), sys.executable, "-m", "service.reading.worker"]
        self.process = subprocess.Popen(
            [*command, str(budget.memory_mib * MiB)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.tasks = 0
        self.warm = False

    def wait_warm(self, deadline: float) -> None:
        """Until it has loaded its libraries (it says so with an empty message)."""
        assert self.process.stdout is not None
        if not self.warm:
            _read_by(self.process.stdout.fileno(), HEADER.size, deadline)
            self.warm = True

    def ask(self, request: dict[str, object], deadline: float, limit: int) -> bytes:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.wait_warm(deadline)
        self.tasks += 1
        try:
            send(self.process.stdin, json.dumps(request).encode())
        except OSError:
            raise _Failed(_died()) from None
        head = _read_by(self.process.stdout.fileno(), HEADER.size, deadline)
        (size,) = HEADER.unpack(head)
        if size > limit:
            raise _Failed(too_complex("读取结果过大", "the document read is too large"))
        return _read_by(self.process.stdout.fileno(), size, deadline)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class PooledReader:
    """Every document read in the pool; the pool starts with the first one."""

    def __init__(self, limits: DocumentLimits, budget: ReadingBudget) -> None:
        self._limits = limits
        self._budget = budget
        self._idle: queue.Queue[_Worker] = queue.Queue()  # the longest idle first: warm
        self._holding: Counter[str] = Counter()  # workers held, by owner
        self._turn = threading.Condition()
        self._started = False
        self._closed = False

    def read(
        self, path: Path, filename: str, *, tables: bool = False, owner: str | None = None
    ) -> Read:
        request = {"path": str(path), "filename": filename, "tables": tables}
        request["limits"] = asdict(self._limits)
        holder = owner or ""
        worker = self._take(holder)
        try:
            answer = worker.ask(
                request, time.monotonic() + self._budget.seconds, self._answer_limit
            )
            read = _parse(answer)
        except _Failed as failed:
            log.warning(
                "document_refused_by_budget", filename=filename, reason=failed.problem.message_en
            )
            self._replace(worker)
            return None, [_finding(failed.problem)]
        else:
            self._give_back(worker)
            return read
        finally:
            self._release(holder)

    def close(self) -> None:
        with self._turn:
            self._closed = True
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return

    @property
    def _answer_limit(self) -> int:
        return (
            self._limits.max_chars * 6 + _ANSWER_OVERHEAD
        )  # 6: the JSON escape of a CJK character

    def _take(self, owner: str) -> _Worker:
        """A worker, once `owner` holds fewer than its share."""
        with self._turn:
            if not self._started:
                self._started = True
                for _ in range(self._budget.workers):
                    self._idle.put(_Worker(self._budget))
            while self._holding[owner] >= self._budget.share:
                self._turn.wait()
            self._holding[owner] += 1
        return self._idle.get()

    def _release(self, owner: str) -> None:
        with self._turn:
            self._holding[owner] -= 1
            self._turn.notify_all()

    def _give_back(self, worker: _Worker) -> None:
        if worker.tasks >= _TASKS_PER_WORKER:
            self._replace(worker)
        else:
            self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Stop `worker` and start its replacement, which joins the pool once warm."""
        worker.stop()
        with self._turn:
            if self._closed:
                return
        replacement = _Worker(self._budget)
        with contextlib.suppress(_Failed):  # slow to start: the next to take it waits for it
            replacement.wait_warm(time.monotonic() + self._budget.seconds)
        self._idle.put(replacement)


def _read_by(fd: int, size: int, deadline: float) -> bytes:
    """Exactly `size` bytes from `fd`, or _Failed when the worker dies or time runs out."""
    chunks: list[bytes] = []
    left = size
    while left:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            raise _Failed(_timed_out())
        chunk = os.read(fd, min(left, MiB))
        if not chunk:
            raise _Failed(_died())
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _parse(answer: bytes) -> Read:
    try:
        message = json.loads(answer)
        if "read" in message:
            return READ.validate_python(message["read"])
    except (ValueError, ValidationError, TypeError):
        raise _Failed(too_complex("读取结果无法解析", "the worker's answer is malformed")) from None
    if message.get("failed") == "depth":
        raise _Failed(too_complex("文件结构嵌套过深", "the file is nested too deeply"))
    raise _Failed(_died())


def _died() -> ReadProblem:
    return too_complex(
        "读取时超出内存上限（或读取进程异常退出）",
        "reading it goes over the memory allowed (or the reading process died)",
    )


def _timed_out() -> ReadProblem:
    return too_complex("读取超时", "reading it takes longer than allowed")


def _finding(problem: ReadProblem) -> Finding:
    return error(problem.code, problem.message_zh, problem.message_en, where=WHERE)

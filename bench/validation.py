"""Validation speed: the median milliseconds to read and validate one document (text
extraction, the rule-of-law rules and the personal-data and secrecy scan), for the TXT,
DOCX and PDF versions of the sample and of a 30-page report.

    .venv/bin/python bench/validation.py [--repeat 15]

It prints figures, not pass/fail; compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pdfminer.pdfpage import PDFPage

from service.domain.metadata import FilingMetadata
from service.validation import read_document_bytes, validate_filing
from tests.support.documents import SAMPLE_PATH, docx_from_text, pdf_from_text

METADATA = FilingMetadata.model_validate(
    {
        "category": "rule_of_law_report",
        "org_code": "11620300013909010R",
        "org_name": "南开区合作交流办",
        "period": "2023",
    }
)
TARGET_PAGES = 30


def long_report(sample: str, pages: int) -> str:
    """The sample with each part's body repeated until its PDF has `pages` pages."""
    lines = sample.splitlines()
    heads = [i for i, line in enumerate(lines) if line.startswith(("一、", "二、", "三、", "四、"))]
    closing = next(
        i
        for i, line in enumerate(lines)
        if line.startswith("南开区合作交流办党组") and i > heads[-1]
    )
    body = lines[heads[0] : closing]
    times = 1
    while True:
        text = "\n".join([*lines[: heads[0]], *(body * times), *lines[closing:]])
        if _pages(pdf_from_text(text)) >= pages:
            return text
        times += 1


def _pages(pdf: bytes) -> int:
    import io

    return sum(1 for _ in PDFPage.get_pages(io.BytesIO(pdf)))


def median_ms(data: bytes, name: str, repeat: int) -> float:
    def once() -> None:
        document, findings = read_document_bytes(data, name)
        assert document is not None and not findings, findings
        validate_filing(document, METADATA, None, received_on=date(2024, 1, 12))

    once()  # warm-up: imports, CMaps
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        once()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sample = SAMPLE_PATH.read_text("utf-8")
    report = long_report(sample, TARGET_PAGES)
    builders: dict[str, Callable[[str], bytes]] = {
        "txt": lambda t: t.encode(),
        "docx": docx_from_text,
        "pdf": pdf_from_text,
    }
    print(f"{'document':<22}{'format':<8}{'bytes':>10}{'pages':>7}{'median ms':>12}")
    for label, text in (("sample", sample), (f"{TARGET_PAGES}-page report", report)):
        pdf_pages = _pages(pdf_from_text(text))
        for kind, build in builders.items():
            data = build(text)
            ms = median_ms(data, f"report.{kind}", args.repeat)
            print(f"{label:<22}{kind:<8}{len(data):>10}{pdf_pages:>7}{ms:>12.1f}")


if __name__ == "__main__":
    main()

"""Validation speed: the median milliseconds to read and validate one document (text
extraction, the category's rules and the personal-data and secrecy scan), for the TXT,
DOCX and PDF versions of the sample and of a 30-page report, and a 年报 PDF whose
tables (one over a page break) are read and checked cell by cell.

PDFs are read three ways in the same process, on the same files: with pdfminer.six as
the service read them before (the baseline), with PDFium (pypdfium2) as it reads them
now, and through the reading pool (service.reading.pool: a worker process, JSON back), as
`serve` reads every upload.

    .venv/bin/python bench/validation.py [--repeat 15]

It prints figures and ratios, not pass/fail; compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.categories import content_rule
from service.domain.metadata import FilingMetadata
from service.reading.pool import PooledReader, ReadingBudget
from service.validation import DocumentLimits, read_document, validate_filing
from service.validation.formats.documents import Document
from tests.support.annual_report_pdf import annual_report_pdf
from tests.support.documents import SAMPLE_PATH, docx_from_text, pdf_from_text

ROL = FilingMetadata.model_validate(
    {
        "category": "rule_of_law_report",
        "org_code": "11620300013909010R",
        "org_name": "南开区合作交流办",
        "period": "2023",
    }
)
GIA = FilingMetadata.model_validate({**ROL.model_dump(), "category": "gov_info_annual_report"})
TARGET_PAGES = 30

Reader = Callable[[Path, str, bool], Document]


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
    import pypdfium2

    return len(pypdfium2.PdfDocument(pdf))


def pdfminer_text(path: Path) -> list[str]:
    """The text of each page as the service read it before: pdfminer.six's layout
    analysis (LAParams defaults), page by page."""
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    pages: list[str] = []
    with path.open("rb") as source, io.StringIO() as out:
        document = PDFDocument(PDFParser(source))
        resources = PDFResourceManager(caching=True)
        device = TextConverter(resources, out, laparams=LAParams())
        interpreter = PDFPageInterpreter(resources, device)
        for page in PDFPage.create_pages(document):
            start = out.tell()
            interpreter.process_page(page)
            out.seek(start)
            pages.append(out.read())
        device.close()
    return pages


def median_ms(run: Callable[[], object], repeat: int) -> float:
    run()  # warm-up: imports, CMaps, a worker's first document
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _validated(read: Reader, path: Path, metadata: FilingMetadata) -> Callable[[], None]:
    tables = metadata.category is GIA.category

    def run() -> None:
        document = read(path, path.name, tables)
        result = validate_filing(
            document,
            metadata,
            None,
            content_rule=content_rule(metadata),
            received_on=date(2024, 1, 12),
        )
        assert not [f for f in result.findings if f.is_error], result.findings

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    limits = DocumentLimits()
    pool = PooledReader(limits, ReadingBudget())

    def in_process(path: Path, name: str, tables: bool) -> Document:
        document, findings = read_document(path, name, limits, tables=tables)
        assert document is not None and not [f for f in findings if f.is_error], findings
        return document

    def pooled(path: Path, name: str, tables: bool) -> Document:
        document, findings = pool.read(path, name, tables=tables)
        assert document is not None, findings
        return document

    sample = SAMPLE_PATH.read_text("utf-8")
    report = long_report(sample, TARGET_PAGES)
    builders: dict[str, Callable[[str], bytes]] = {
        "txt": lambda t: t.encode(),
        "docx": docx_from_text,
        "pdf": pdf_from_text,
    }
    directory = Path(tempfile.mkdtemp(prefix="bench-validation-"))
    print(f"{'document':<24}{'format':<7}{'reader':<14}{'bytes':>9}{'pages':>7}{'median ms':>11}")
    try:
        for label, text in (("sample", sample), (f"{TARGET_PAGES}-page report", report)):
            pages = _pages(pdf_from_text(text))
            for kind, build in builders.items():
                path = directory / f"{label.split()[0]}.{kind}"
                path.write_bytes(build(text))
                readers = {"in process": in_process}
                if kind == "pdf":
                    readers["pool"] = pooled
                for name, read in readers.items():
                    ms = median_ms(_validated(read, path, ROL), args.repeat)
                    print(
                        f"{label:<24}{kind:<7}{name:<14}{path.stat().st_size:>9}{pages:>7}{ms:>11.1f}"
                    )
                if kind == "pdf":
                    _compare_pdf_readers(path, label, pages, args.repeat)
        path = directory / "annual-report.pdf"
        path.write_bytes(annual_report_pdf(units=True))
        for name, read in (("in process", in_process), ("pool", pooled)):
            ms = median_ms(_validated(read, path, GIA), args.repeat)
            print(
                f"{'年报 with tables':<24}{'pdf':<7}{name:<14}{path.stat().st_size:>9}{2:>7}{ms:>11.1f}"
            )
    finally:
        pool.close()


def _compare_pdf_readers(path: Path, label: str, pages: int, repeat: int) -> None:
    """Text extraction alone: pdfminer.six (the reader before) against PDFium (now)."""
    from service.validation.formats.pdf_files import pdf_content

    def pdfium() -> None:
        with path.open("rb") as source:
            pdf_content(source, DocumentLimits())

    before = median_ms(lambda: pdfminer_text(path), max(3, repeat // 3))
    now = median_ms(pdfium, repeat)
    print(
        f"{label:<24}{'pdf':<7}{'text only':<14}{path.stat().st_size:>9}{pages:>7}"
        f"{now:>11.1f}   pdfminer {before:.1f} ms: PDFium {before / now:.0f}× faster"
    )


if __name__ == "__main__":
    main()

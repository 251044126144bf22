"""Tables for people to open in Excel or WPS: CSV (UTF-8 with a BOM, without which both
read Chinese as mojibake) and XLSX. Shared by every export (the deadline board, the
search results, the pages).

    safe_cell("=1+1")            "'=1+1": a formula is shown, never run (CSV injection)
    csv_bytes(["单位"], [["天津市滨河区司法局"]])     b"\\xef\\xbb\\xbf单位\\r\\n…"
    csv_chunks(["单位"], batches)                      the same, a batch of rows at a time
    xlsx_bytes("看板", ["单位"], rows)                 an .xlsx workbook, one sheet

Cells that begin with = + - @ (or a tab or carriage return, which some programs strip
before looking) are prefixed with a single quote (OWASP, "CSV Injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | date | None


def safe_cell(value: Cell) -> str:
    """The cell as text, escaped when a spreadsheet could take it for a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, date) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_bytes(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    return b"".join(csv_chunks(headers, [rows]))


def csv_chunks(
    headers: Sequence[str], batches: Iterable[Iterable[Sequence[Cell]]]
) -> Iterator[bytes]:
    """The CSV a batch of rows at a time (the BOM and headers first), for a streamed
    answer that never holds the whole table."""
    yield (BOM + _csv_text([headers])).encode("utf-8")
    for rows in batches:
        yield _csv_text(rows).encode("utf-8")


def _csv_text(rows: Iterable[Sequence[Cell]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([safe_cell(c) for c in row] for row in rows)
    return out.getvalue()


def xlsx_bytes(title: str, headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """Every cell written as text (a date as YYYY-MM-DD), so none is read as a formula."""
    from openpyxl import Workbook  # a third of a second to import: only when asked for

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])  # Excel's limit on a sheet's name
    sheet.append([safe_cell(h) for h in headers])
    for row in rows:
        sheet.append([safe_cell(c) for c in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()

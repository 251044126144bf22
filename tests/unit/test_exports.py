"""Exports for Excel and WPS: a cell that could run as a formula is shown as text."""

from __future__ import annotations

import csv
import io
from datetime import date

import openpyxl
import pytest

from service.entrypoints.exports import csv_bytes, safe_cell, xlsx_bytes


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 22 1234", "'+86 22 1234"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("天津市滨河区司法局", "天津市滨河区司法局"),
        ("a=b", "a=b"),
        (None, ""),
        (date(2024, 1, 31), "2024-01-31"),
        (3, "3"),
    ],
)
def test_a_cell_that_could_be_a_formula_is_escaped_and_others_are_not(
    value: str | int | date | None, shown: str
) -> None:
    assert safe_cell(value) == shown


def test_csv_starts_with_a_bom_and_escapes_every_cell_header_included() -> None:
    data = csv_bytes(["单位", "=x"], [["滨河区", "=1+2"], ["司法局", None]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["单位", "'=x"], ["滨河区", "'=1+2"], ["司法局", ""]]


def test_xlsx_holds_text_cells_that_read_back_unchanged() -> None:
    data = xlsx_bytes("公开期限看板2023", ["单位", "期限"], [["=cmd", date(2024, 3, 31)]])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None and sheet.title == "公开期限看板2023"
    assert list(sheet.iter_rows(values_only=True)) == [("单位", "期限"), ("'=cmd", "2024-03-31")]

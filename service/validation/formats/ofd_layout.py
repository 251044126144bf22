"""An OFD page's text laid out from where its text codes stand: lines by baseline, and
within a line, cells where the codes leave a gap wider than a couple of characters.
OFD draws a table as lines and positioned text, with no table structure, so a table is
read from that layout: consecutive lines of several cells, their columns found by where
the cells start. Where a page has no such run, it is prose.

    一、本年新收政府信息公开申请数量        6   1   0   0   1   0   8      ← a row of cells
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.validation.formats.extracted import TableCell

LINE_TOLERANCE_MM = 1.5  # codes whose baselines differ by less are on one line
_CELL_GAP = 1.0  # a gap of this many characters' width between codes starts a new cell
_WRAPPED_LINES = 4  # one-cell lines (a label wrapped in its cell) a table may hold in a row
_COLUMN_TOLERANCE_MM = 2.0
_MIN_TABLE_ROWS = 3
_HALF_WIDTH = 0.55  # the advance of an ASCII character, as a share of the font size


@dataclass(frozen=True)
class Code:
    y: float  # baseline, mm from the page's top
    x: float
    text: str
    size: float  # font size in mm


@dataclass(frozen=True)
class Cell:
    x: float
    end: float  # where its text ends, estimated from the font size
    text: str

    @property
    def middle(self) -> float:
        """Where it is centred: table numbers are, so their column shows there."""
        return (self.x + self.end) / 2


@dataclass(frozen=True)
class Line:
    y: float
    cells: tuple[Cell, ...]

    @property
    def text(self) -> str:
        return "".join(cell.text for cell in self.cells)


@dataclass(frozen=True)
class LaidOutTable:
    rows: tuple[tuple[TableCell, ...], ...]


def lines(codes: Sequence[Code]) -> list[Line]:
    grouped: list[list[Code]] = []
    for code in sorted(codes, key=lambda c: (c.y, c.x)):
        if grouped and code.y - grouped[-1][0].y < LINE_TOLERANCE_MM:
            grouped[-1].append(code)
        else:
            grouped.append([code])
    return [Line(line[0].y, _cells(sorted(line, key=lambda c: c.x))) for line in grouped]


def _cells(codes: Sequence[Code]) -> tuple[Cell, ...]:
    cells: list[Cell] = []
    for code in codes:
        end = code.x + _advance(code)
        if cells and code.x - cells[-1].end <= _CELL_GAP * code.size:
            last = cells[-1]
            cells[-1] = Cell(last.x, max(last.end, end), last.text + code.text)
        else:
            cells.append(Cell(code.x, end, code.text))
    return tuple(cells)


def _advance(code: Code) -> float:
    return sum(code.size * (_HALF_WIDTH if ord(c) < 0x2E80 else 1.0) for c in code.text)


def split(page: Sequence[Line]) -> list[list[Line] | LaidOutTable]:
    """The page as runs of prose lines and tables, in reading order."""
    pieces: list[list[Line] | LaidOutTable] = []
    start = 0
    for first, last in _table_runs(page):
        if first > start:
            pieces.append(list(page[start:first]))
        pieces.append(_table(page[first : last + 1]))
        start = last + 1
    if start < len(page):
        pieces.append(list(page[start:]))
    return pieces


def _table_runs(page: Sequence[Line]) -> list[tuple[int, int]]:
    """(first, last) line of each run of several-cell lines long enough to be a table;
    a few one-cell lines between two several-cell lines (a header spanning the columns,
    a label wrapped in its cell) stay in."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    last = -1
    for i, line in enumerate(page):
        if len(line.cells) > 1:
            first = i if first is None else first
            last = i
        elif first is not None and i - last > _WRAPPED_LINES:
            runs.append((first, last))
            first = None
    if first is not None:
        runs.append((first, last))
    return [
        (a, b)
        for a, b in runs
        if sum(len(page[i].cells) > 1 for i in range(a, b + 1)) >= _MIN_TABLE_ROWS
    ]


def _table(rows: Sequence[Line]) -> LaidOutTable:
    """The columns are where the cells of the fullest rows stand (a header centred over
    several columns stands between two), every cell placed in the nearest one."""
    most = max(len(line.cells) for line in rows)
    full = [line for line in rows if len(line.cells) * 2 >= most]
    middles = _columns([cell.middle for line in full for cell in line.cells])
    return LaidOutTable(
        tuple(
            tuple(TableCell(cell.text, _column(middles, cell.middle)) for cell in line.cells)
            for line in rows
        )
    )


def _columns(xs: list[float]) -> list[float]:
    columns: list[float] = []
    for x in sorted(xs):
        if not columns or x - columns[-1] > _COLUMN_TOLERANCE_MM:
            columns.append(x)
    return columns


def _column(columns: list[float], x: float) -> int:
    return min(range(len(columns)), key=lambda i: abs(columns[i] - x))

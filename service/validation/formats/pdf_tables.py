"""The tables a PDF draws, read through pdfplumber (its "lines" strategy: cells are the
rectangles the ruling lines enclose), page by page, then joined where one runs over a
page break.

pdfplumber gives each table's cells as rectangles; their edges make the table's grid,
so a merged cell knows the columns and rows it covers (TableCell.span, .continued) as
a Word table's does. A table whose piece on the next page starts that page, follows
one that ends its page, and has the same right edge and no column edge the first piece
lacks continues it (a piece may show fewer columns: pdfplumber sees only the lines drawn
on its page, and rows whose labels span columns draw fewer); its cells are placed on the
first piece's grid, and the header rows it repeats (as Word and WPS do) are dropped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from service.validation.formats.extracted import TableCell
from service.validation.formats.limits import DocumentLimits, too_complex

if TYPE_CHECKING:
    import pdfplumber.table

_EDGE_TOLERANCE = 2.0  # points: edges closer than this are one grid line
_MAX_HEADER_ROWS = 5
_SHARED_EDGES = 0.7  # of its column edges a continuation shares with the piece before


@dataclass(frozen=True)
class PageTable:
    page: int  # 1-based
    order: int  # its place among the page's tables, top first
    bbox: tuple[float, float, float, float]  # x0, top, x1, bottom from the page's top left
    edges: tuple[float, ...]  # the grid's column edges, the right edge last
    rows: tuple[tuple[TableCell, ...], ...]
    last_on_page: bool = False

    @property
    def key(self) -> tuple[int, int]:
        return self.page, self.order


def read_tables(source: BinaryIO, pages: Sequence[int], limits: DocumentLimits) -> list[PageTable]:
    """The tables on `pages` (1-based), in document order."""
    import pdfplumber

    found: list[PageTable] = []
    cells = 0
    source.seek(0)
    with pdfplumber.open(source, pages=list(pages)) as pdf:  # type: ignore[arg-type]
        for number, page in zip(pages, pdf.pages, strict=True):
            tables = sorted(page.find_tables(), key=lambda t: t.bbox[1])
            for order, table in enumerate(tables):
                read = _page_table(number, order, table, last=order == len(tables) - 1)
                cells += sum(len(row) for row in read.rows)
                if cells > limits.max_table_cells:
                    raise too_complex(
                        f"表格单元格超过 {limits.max_table_cells} 个",
                        f"over {limits.max_table_cells} table cells",
                    )
                found.append(read)
            page.close()
    return found


def _page_table(number: int, order: int, table: pdfplumber.table.Table, *, last: bool) -> PageTable:
    columns = _edges(c[0] for c in table.cells)
    right = max(c[2] for c in table.cells)
    tops = _edges(c[1] for c in table.cells)
    lowest = max(c[3] for c in table.cells)
    covered: dict[int, list[TableCell]] = {}  # row → cells continued from a row above
    rows: list[tuple[TableCell, ...]] = []
    for r, (row, texts) in enumerate(zip(table.rows, table.extract(), strict=True)):
        line = list(covered.pop(r, []))
        for bbox, text in zip(row.cells, texts, strict=True):
            if bbox is None:
                continue
            column = _index(columns, bbox[0])
            span = max(1, _index(columns, bbox[2], end=right) - column)
            line.append(TableCell(_clean(text), column, span))
            for below in range(r + 1, _index(tops, bbox[3], end=lowest)):
                covered.setdefault(below, []).append(TableCell("", column, span, continued=True))
        rows.append(tuple(sorted(line, key=lambda c: c.column)))
    x0, top, x1, bottom = (float(v) for v in table.bbox)
    edges = (*columns, right)
    return PageTable(number, order, (x0, top, x1, bottom), edges, tuple(rows), last)


def _edges(values: Any) -> list[float]:
    edges: list[float] = []
    for value in sorted(float(v) for v in values):
        if not edges or value - edges[-1] > _EDGE_TOLERANCE:
            edges.append(value)
    return edges


def _index(edges: list[float], value: float, *, end: float | None = None) -> int:
    """The grid line at `value`; `end` (the table's far edge) counts as one past the last."""
    if end is not None and abs(value - end) <= _EDGE_TOLERANCE:
        return len(edges)
    return min(bisect_left(edges, value - _EDGE_TOLERANCE), len(edges))


def _clean(text: str | None) -> str:
    return " ".join((text or "").split("\n")).strip()


def join_tables(tables: Sequence[PageTable]) -> list[list[PageTable]]:
    """The tables grouped into whole tables: each group one table, over one page or
    more, every piece on the grid of all the group's column edges; the rows a
    continuation repeats from its table's header are dropped."""
    groups: list[list[PageTable]] = []
    for table in tables:
        if groups and _continues(groups[-1][-1], table):
            groups[-1].append(table)
        else:
            groups.append([table])
    return [_on_one_grid(group) for group in groups]


def _continues(before: PageTable, table: PageTable) -> bool:
    """`table` starts the page after the one `before` ends, with the same outer edges
    and mostly the same column edges (each piece draws the lines of its own rows)."""
    shared = sum(_edge_index(before.edges, x) is not None for x in table.edges)
    return (
        table.page == before.page + 1
        and table.order == 0
        and before.last_on_page
        and abs(table.edges[0] - before.edges[0]) <= _EDGE_TOLERANCE
        and abs(table.edges[-1] - before.edges[-1]) <= _EDGE_TOLERANCE
        and shared >= _SHARED_EDGES * min(len(table.edges), len(before.edges))
    )


def _edge_index(edges: Sequence[float], x: float) -> int | None:
    return next((i for i, edge in enumerate(edges) if abs(edge - x) <= _EDGE_TOLERANCE), None)


def _on_one_grid(group: list[PageTable]) -> list[PageTable]:
    edges = tuple(_edges(x for table in group for x in table.edges))
    placed = [_on_grid(table, edges) for table in group]
    head = placed[0].rows
    return [placed[0], *(replace(t, rows=_without_header(t.rows, head)) for t in placed[1:])]


def _on_grid(table: PageTable, edges: tuple[float, ...]) -> PageTable:
    """`table` with its cells' columns and spans counted on `edges` (a finer grid)."""
    if table.edges == edges:
        return table

    def placed(cell: TableCell) -> TableCell:
        start = _edge_index(edges, table.edges[cell.column]) or 0
        end = _edge_index(edges, table.edges[min(cell.column + cell.span, len(table.edges) - 1)])
        return replace(cell, column=start, span=max(1, (end or start + 1) - start))

    rows = tuple(tuple(placed(cell) for cell in row) for row in table.rows)
    return replace(table, edges=edges, rows=rows)


def _without_header(
    rows: tuple[tuple[TableCell, ...], ...], head: tuple[tuple[TableCell, ...], ...]
) -> tuple[tuple[TableCell, ...], ...]:
    skip = 0
    while skip < min(len(rows), len(head), _MAX_HEADER_ROWS) and _same(rows[skip], head[skip]):
        skip += 1
    return rows[skip:]


def _same(row: tuple[TableCell, ...], other: tuple[TableCell, ...]) -> bool:
    def texts(cells: tuple[TableCell, ...]) -> list[tuple[int, str]]:
        return [(c.column, "".join(c.text.split())) for c in cells if not c.continued]

    return texts(row) == texts(other)

"""What a reader extracts from a file: text blocks with where they came from, and tables.

Block("第一行\\n第二行", Origin(page=2))          a PDF/OFD page's text
Block("12", Origin(cell=(0, 3, 4)))             a DOCX table cell: table 1, row 4, column 5
Table(0, rows).grid()                           merged cells expanded, for reading by column
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    """Where a paragraph came from: a page (PDF, OFD) and/or a table cell (DOCX)."""

    page: int | None = None  # 1-based
    cell: tuple[int, int, int] | None = None  # (table, row, grid column), 0-based

    def describe(self, paragraph_index: int) -> str:
        if self.cell is not None:
            table, row, column = self.cell
            return table_cell_where(table, row, column)
        if self.page is not None:
            return f"第{self.page}页（第{paragraph_index + 1}段）"
        return f"第{paragraph_index + 1}段"


NOWHERE = Origin()


def table_cell_where(table: int, row: int, column: int) -> str:
    return f"表格{table + 1}第{row + 1}行第{column + 1}列"


@dataclass(frozen=True)
class TableCell:
    text: str
    column: int  # the first grid column it covers
    span: int = 1  # grid columns covered (w:gridSpan)
    continued: bool = False  # continues the vertically merged cell above (w:vMerge)


@dataclass(frozen=True)
class Table:
    index: int  # 0-based, in document order
    rows: tuple[tuple[TableCell, ...], ...]

    def grid(self) -> tuple[tuple[str, ...], ...]:
        """Rows of equal width, a merged cell's text in every grid cell it covers."""
        width = max((c.column + c.span for row in self.rows for c in row), default=0)
        out: list[tuple[str, ...]] = []
        for row in self.rows:
            line = [""] * width
            for cell in row:
                for col in range(cell.column, cell.column + cell.span):
                    above = out[-1][col] if out else ""
                    line[col] = above if cell.continued else cell.text
            out.append(tuple(line))
        return tuple(out)

    def where(self, row: int, column: int) -> str:
        return table_cell_where(self.index, row, column)


@dataclass(frozen=True)
class Block:
    text: str
    origin: Origin = NOWHERE


@dataclass(frozen=True)
class Extracted:
    blocks: tuple[Block, ...]
    tables: tuple[Table, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(b.text for b in self.blocks)

"""What a reader extracts from a file: text blocks with where they came from, and tables.

Block("第一行\\n第二行", Origin(page=2))          a PDF/OFD page's text
Block("12", Origin(cell=(0, 3, 4)))             a table cell: table 1, row 4, column 5
Block("一、总体情况", Origin(level=1))            a paragraph in a Word heading style
Table(0, rows).grid()                           merged cells expanded, for reading by column
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Origin:
    """Where a paragraph came from: a page (PDF, OFD) and/or a table cell (DOCX, PDF);
    its outline level where the document's styles give one (a Word heading)."""

    page: int | None = None  # 1-based
    cell: tuple[int, int, int] | None = None  # (table, row, grid column), 0-based
    level: int | None = None  # 1 for 「标题 1」/Heading 1 …
    own_level: bool = field(default=False, compare=False)  # set by the paragraph, not its style

    def describe(self, paragraph_index: int) -> str:
        if self.cell is not None:
            table, row, column = self.cell
            return table_cell_where(table, row, column, self.page)
        if self.page is not None:
            return f"第{self.page}页（第{paragraph_index + 1}段）"
        return f"第{paragraph_index + 1}段"


NOWHERE = Origin()


def table_cell_where(table: int, row: int, column: int, page: int | None = None) -> str:
    where = f"表格{table + 1}第{row + 1}行第{column + 1}列"
    return f"{where}（第{page}页）" if page is not None else where


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
    pages: tuple[int, ...] = ()  # each row's page, for a table read from a PDF

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
        page = self.pages[row] if row < len(self.pages) else None
        return table_cell_where(self.index, row, column, page)


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

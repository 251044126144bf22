"""Build DOCX and PDF files from text, for tests at every level.

docx_from_text(SAMPLE_PATH.read_text("utf-8"))   # one Word paragraph per line
pdf_from_text(text)                              # A4, STSong-Light, long lines wrapped
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

SAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
SAMPLE_PATH = SAMPLES_DIR / "nankai-hezuojiaoliuban-2023-fazhi-report.txt"

PDF_FONT = "STSong-Light"
_FONT_SIZE = 12
_LEADING = 18
_MARGIN = 56


def docx_from_text(text: str) -> bytes:
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_from_text(text: str) -> bytes:
    """Each line drawn left-aligned, wrapped to the page width; new pages as needed."""
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    width, height = A4
    y = height - _MARGIN
    page.setFont(PDF_FONT, _FONT_SIZE)
    for line in text.splitlines():
        for piece in wrap(line, width - 2 * _MARGIN) or [""]:
            if y < _MARGIN:
                page.showPage()
                page.setFont(PDF_FONT, _FONT_SIZE)
                y = height - _MARGIN
            page.drawString(_MARGIN, y, piece)
            y -= _LEADING
    page.save()
    return out.getvalue()


def wrap(line: str, max_width: float) -> list[str]:
    """`line` cut into pieces no wider than `max_width` points in the PDF font."""
    pieces: list[str] = []
    current = ""
    for char in line:
        if current and pdfmetrics.stringWidth(current + char, PDF_FONT, _FONT_SIZE) > max_width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current] if current else pieces

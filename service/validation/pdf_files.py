"""PDF: the text layer, page by page, through pdfminer.six. A PDF without one (a scan)
yields no text, which the caller reports as `file_no_text`.

Verified: text drawn by reportlab in the built-in CID font STSong-Light extracts back
to the same Chinese (pdfminer ships the Adobe-GB1 CMaps).
"""

from __future__ import annotations

import io
from typing import BinaryIO

from service.validation.extracted import Block, Extracted, Origin
from service.validation.limits import DocumentLimits, ReadProblem, too_complex, unreadable

# A PDF ends with %%EOF; readers tolerate up to 1 KiB of trailing bytes. Without it the
# upload was cut short, and pdfminer would happily return the text of the first pages.
_EOF_WINDOW = 1024


def pdf_content(source: BinaryIO, limits: DocumentLimits) -> Extracted:
    """Each page's text as one block. `source` is a seekable stream: pdfminer reads the
    objects it needs from it, so the file is never held whole in memory."""
    if b"%%EOF" not in _tail(source):
        raise unreadable("PDF 不完整（缺少文件结尾）", "the PDF is truncated (no %%EOF)")
    # Imported here: pdfminer costs ~20 MB of memory, which only a process reading PDFs pays.
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pages = _extract(source, limits)
    except ReadProblem:
        raise
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise unreadable("PDF 已加密", "the PDF is encrypted") from exc
    except RecursionError as exc:
        raise too_complex("PDF 结构嵌套过深", "the PDF is nested too deeply") from exc
    # pdfminer raises many unrelated types (KeyError, TypeError, AssertionError …) on
    # malformed input; every one of them means the same thing to the person uploading.
    except Exception as exc:
        raise unreadable("PDF 已损坏", "the PDF is corrupt") from exc
    return Extracted(tuple(Block(text, Origin(page=n)) for n, text in enumerate(pages, start=1)))


def _tail(source: BinaryIO) -> bytes:
    size = source.seek(0, io.SEEK_END)
    source.seek(max(0, size - _EOF_WINDOW))
    tail = source.read()
    source.seek(0)
    return tail


def _extract(source: BinaryIO, limits: DocumentLimits) -> list[str]:
    from pdfminer.converter import TextConverter
    from pdfminer.layout import LAParams
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage
    from pdfminer.pdfparser import PDFParser

    document = PDFDocument(PDFParser(source))
    resources = PDFResourceManager(caching=True)
    pages: list[str] = []
    with io.StringIO() as out:
        device = TextConverter(resources, out, laparams=LAParams())
        interpreter = PDFPageInterpreter(resources, device)
        for number, page in enumerate(PDFPage.create_pages(document), start=1):
            if number > limits.max_pdf_pages:
                raise too_complex(
                    f"PDF 超过 {limits.max_pdf_pages} 页", f"over {limits.max_pdf_pages} pages"
                )
            start = out.tell()
            interpreter.process_page(page)
            if out.tell() > limits.max_chars:
                raise too_complex("提取的文字过多", "too much text")
            out.seek(start)
            pages.append(out.read())
        device.close()
    return pages

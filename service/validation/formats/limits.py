"""Bounds on what reading a document may cost, and the problem a reader raises when a
file cannot be read. Readers raise `ReadProblem`; `documents.read_document` turns it
into a finding, so no reader error ever reaches a caller."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentLimits:
    """What one document may cost to read; every bound is a setting (DISCLOSURE_DOCUMENT_*).

    Zip containers (DOCX, OFD) are streamed: XML parts are parsed as they decompress and
    each element is dropped once read, so memory follows the extracted text
    (max_chars), not the part's size; elements, their depth and paragraphs are counted
    as they are parsed, so a small file that inflates to millions of elements stops at
    the bound. Only small index parts (relationships, styles, OFD.xml, Document.xml) are
    read whole, up to max_part_bytes each."""

    max_paragraphs: int = 20_000
    max_chars: int = 5_000_000  # total extracted text
    max_line_chars: int = 100_000  # a longer "line" is cut into pieces, never a crash
    max_decompressed_bytes: int = 200 * 1024 * 1024  # all zip members read, together
    max_pdf_pages: int = 2_000  # PDF and OFD pages
    max_part_bytes: int = 16 * 1024 * 1024  # a zip part read whole
    max_zip_members: int = 10_000
    max_table_cells: int = 200_000  # all table cells together (DOCX, PDF)
    max_xml_elements: int = 1_000_000  # elements of a DOCX's or OFD page's XML, counted as parsed
    max_xml_depth: int = 256  # how deep XML elements nest (Word nests a few dozen at most)


class ReadProblem(Exception):
    """A file that cannot be read; `code` is the finding code it becomes."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{code}: {message_en}")
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en


def unreadable(zh: str, en: str) -> ReadProblem:
    return ReadProblem("file_unreadable", f"文件无法读取：{zh}", f"The file cannot be read: {en}")


def too_complex(zh: str, en: str) -> ReadProblem:
    return ReadProblem(
        "file_too_complex", f"文件超出处理上限：{zh}", f"The file exceeds a processing limit: {en}"
    )


def unsupported(zh: str, en: str) -> ReadProblem:
    return ReadProblem(
        "file_type_unsupported",
        f"不支持的文件类型：{zh}。请上传 DOCX、PDF、OFD 或文本文件（UTF-8/GB18030）",
        f"Unsupported file type: {en}. Upload a DOCX, PDF, OFD or text (UTF-8/GB18030) file",
    )


def no_text(zh: str, en: str) -> ReadProblem:
    return ReadProblem("file_no_text", f"未能提取到文字：{zh}", f"No text could be extracted: {en}")

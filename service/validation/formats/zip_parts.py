"""Reading the XML parts of a zip container (DOCX, OFD) with bounded memory.

    with zip_container(source, limits, "DOCX") as parts:
        root = parts.parse("_rels/.rels")             # a small part, read whole
        for event, element in parts.events("word/document.xml"):   # a large one, streamed
            ...

Every byte decompressed counts against one budget (`max_decompressed_bytes`), so a
zip bomb stops at the budget: `file_too_complex`, never memory exhaustion. A streamed
part's elements are counted and their nesting measured as they are parsed, and each is
dropped once read (`max_xml_elements`, `max_xml_depth`). A member
whose declared size is over the budget is refused before anything is inflated. XML is
parsed by expat through defusedxml, whole parts and streamed ones alike: a DOCTYPE (and
so any ENTITY declaration), which neither Word nor OFD writers emit, is refused as the
parser meets it, in whatever encoding the part is written.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO
from xml.etree import ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import fromstring as defused_fromstring

from service.validation.formats.limits import DocumentLimits, ReadProblem, too_complex, unreadable

_CHUNK = 64 * 1024
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)
# The XML parser buffers a text run or a tag until it ends; Word and OFD writers never
# write megabytes without markup, so a longer stretch is refused instead of buffered.
_MAX_RUN = 4 * 1024 * 1024


def local_name(tag: str) -> str:
    """ "{namespace}p" → "p"."""
    return tag.rpartition("}")[2]


class ZipParts:
    """The members of one open zip, read against a shared byte budget."""

    def __init__(self, zf: zipfile.ZipFile, limits: DocumentLimits, label: str) -> None:
        self._zf = zf
        self._limits = limits
        self._label = label
        self._left = limits.max_decompressed_bytes
        self.names = frozenset(zf.namelist())

    def chunks(self, name: str) -> Iterator[bytes]:
        try:
            info = self._zf.getinfo(name)
        except KeyError:
            raise unreadable(
                f"不是完整的 {self._label} 文件（缺少 {name[:60]}）",
                f"not a complete {self._label} file (no {name[:60]!r})",
            ) from None
        with self._zf.open(info) as member:
            while chunk := member.read(_CHUNK):
                self._spend(len(chunk))
                yield chunk

    def read(self, name: str) -> bytes:
        """A small part, whole (at most max_part_bytes)."""
        out = bytearray()
        for chunk in self.chunks(name):
            out += chunk
            if len(out) > self._limits.max_part_bytes:
                raise too_complex(
                    f"{self._label} 的部件 {name[:60]} 过大", f"the part {name[:60]!r} is too large"
                )
        return bytes(out)

    def parse(self, name: str) -> ET.Element:
        xml = self.read(name)
        try:
            return defused_fromstring(xml, forbid_dtd=True)
        except ET.ParseError as exc:
            raise unreadable(
                f"{name[:60]} 的 XML 格式错误", f"malformed XML in {name[:60]}"
            ) from exc
        except DefusedXmlException as exc:
            raise _declarations() from exc

    def events(self, name: str) -> Iterator[tuple[str, ET.Element]]:
        """("start" | "end", element) for a part parsed as it decompresses. An element is
        whole at its end event; once the caller has it, it is cleared and dropped from its
        parent, so memory holds only the open elements, never the part."""
        parser = _PullParser()
        run = 0  # bytes since the last "<" or ">"
        tree = _Tree(self._limits, self._label)
        try:
            for chunk in self.chunks(name):
                run = _run_after(chunk, run)
                parser.feed(chunk)
                yield from tree.walk(parser.read_events())
            parser.close()
            yield from tree.walk(parser.read_events())
        except ET.ParseError as exc:
            raise unreadable(
                f"{name[:60]} 的 XML 格式错误", f"malformed XML in {name[:60]}"
            ) from exc
        except DefusedXmlException as exc:
            raise _declarations() from exc

    def _spend(self, n: int) -> None:
        self._left -= n
        if self._left < 0:
            raise too_complex(
                f"{self._label} 解压后过大（疑似压缩炸弹）",
                f"the {self._label} decompresses too large (a zip bomb?)",
            )


class _PullParser:
    """ET.XMLPullParser(events=("start", "end")) over defusedxml's parser, where a DOCTYPE
    raises DefusedXmlException from `feed`. XMLPullParser takes another parser only through
    its private `_parser`, whose workings CPython is changing (gh-63102)."""

    def __init__(self) -> None:
        self._builder = _QueueingBuilder()
        self._parser = DefusedXMLParser(target=self._builder, forbid_dtd=True)
        self._error: SyntaxError | None = None

    def feed(self, data: bytes) -> None:
        try:
            self._parser.feed(data)
        except SyntaxError as exc:  # raised after the events before it, as XMLPullParser does
            self._error = exc

    def close(self) -> None:
        self._parser.close()  # raises at once, as XMLPullParser.close does

    def read_events(self) -> Iterator[tuple[str, ET.Element]]:
        yield from self._builder.take()
        if self._error is not None:
            raise self._error


class _QueueingBuilder(ET.TreeBuilder):
    """A TreeBuilder that also queues ("start" | "end", element) as it builds."""

    def __init__(self) -> None:
        super().__init__()
        self._events: list[tuple[str, ET.Element]] = []

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        element = super().start(tag, attrs)
        self._events.append(("start", element))
        return element

    def end(self, tag: str) -> ET.Element:
        element = super().end(tag)
        self._events.append(("end", element))
        return element

    def take(self) -> list[tuple[str, ET.Element]]:
        events, self._events = self._events, []
        return events


class _Tree:
    """The open elements of a part being parsed, bounded in count and depth."""

    def __init__(self, limits: DocumentLimits, label: str) -> None:
        self._limits = limits
        self._label = label
        self._open: list[ET.Element] = []
        self._seen = 0

    def walk(self, events: Iterator[Any]) -> Iterator[tuple[str, ET.Element]]:
        for event, element in events:
            if event == "start":
                self._enter(element)
                yield event, element
            else:
                yield event, element
                self._leave(element)

    def _enter(self, element: ET.Element) -> None:
        self._open.append(element)
        self._seen += 1
        if len(self._open) > self._limits.max_xml_depth:
            raise too_complex(
                f"{self._label} 的 XML 嵌套超过 {self._limits.max_xml_depth} 层",
                f"the {self._label}'s XML nests over {self._limits.max_xml_depth} deep",
            )
        if self._seen > self._limits.max_xml_elements:
            raise too_complex(
                f"{self._label} 的 XML 元素超过 {self._limits.max_xml_elements} 个",
                f"the {self._label}'s XML has over {self._limits.max_xml_elements} elements",
            )

    def _leave(self, element: ET.Element) -> None:
        self._open.pop()
        element.clear()
        if self._open:
            del self._open[-1][:]  # a parent's only child at this point is the one that ended


@contextmanager
def zip_container(source: BinaryIO, limits: DocumentLimits, label: str) -> Iterator[ZipParts]:
    """The zip's parts, read from a seekable stream; zip and decompression errors become
    `file_unreadable`."""
    try:
        with zipfile.ZipFile(source) as zf:
            _check_members(zf, limits, label)
            yield ZipParts(zf, limits, label)
    except ReadProblem:
        raise
    except RuntimeError as exc:  # zipfile's "encrypted, password required"
        raise unreadable(f"{label} 已加密", f"the {label} is encrypted") from exc
    except RecursionError as exc:
        raise too_complex("文档结构嵌套过深", "the document is nested too deeply") from exc
    except _ZIP_ERRORS as exc:
        raise unreadable("压缩包已损坏", "the zip container is broken") from exc


def zip_names(source: BinaryIO) -> frozenset[str] | None:
    """The member names of a zip, or None when it is no readable zip."""
    try:
        with zipfile.ZipFile(source) as zf:
            return frozenset(zf.namelist())
    except _ZIP_ERRORS:
        return None
    finally:
        source.seek(0)


def _check_members(zf: zipfile.ZipFile, limits: DocumentLimits, label: str) -> None:
    infos = zf.infolist()
    if len(infos) > limits.max_zip_members:
        raise too_complex(
            f"{label} 压缩包成员超过 {limits.max_zip_members} 个",
            f"the {label} has over {limits.max_zip_members} zip members",
        )
    for info in infos:
        if info.file_size > limits.max_decompressed_bytes:
            raise too_complex(
                f"压缩包成员 {info.filename[:60]} 声明的大小超过上限（疑似压缩炸弹）",
                f"zip member {info.filename[:60]!r} declares more than the limit",
            )


def _run_after(chunk: bytes, run: int) -> int:
    last = max(chunk.rfind(b"<"), chunk.rfind(b">"))
    run = run + len(chunk) if last < 0 else len(chunk) - last - 1
    if run > _MAX_RUN:
        raise too_complex(
            "XML 中有超长的文字或标记（疑似压缩炸弹）", "the XML has an over-long text run or tag"
        )
    return run


def _declarations() -> ReadProblem:
    return unreadable("XML 含有 DOCTYPE/ENTITY 声明", "the XML declares a DOCTYPE or entities")

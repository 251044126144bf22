"""What a file that is no document is, told by its content (puremagic's signatures), so
that a PNG named report.pdf is refused as 「PNG 图片」 rather than as text that is not
UTF-8. Text-like kinds (HTML, JSON, CSV …) are left to the text reader.

    identify(b"\\x89PNG\\r\\n\\x1a\\n…")   → ("PNG 图片", "a PNG image")
    identify("第一段".encode())            → None
"""

from __future__ import annotations

_MIN_CONFIDENCE = 0.2
_ARCHIVES = frozenset({".rar", ".7z", ".gz", ".bz2", ".xz", ".tar", ".zst", ".cab", ".lz"})
_EXECUTABLES = frozenset({".exe", ".dll", ".msi", ".elf", ".so", ".dylib", ".class", ".jar"})
_DOCUMENTS = {
    ".rtf": ("RTF 文档", "an RTF document"),
    ".eps": ("PostScript 文件", "a PostScript file"),
    ".ps": ("PostScript 文件", "a PostScript file"),
    ".wps": ("WPS 文字文档（请另存为 DOCX 或 PDF）", "a WPS document (save it as DOCX or PDF)"),
    ".swf": ("Flash 文件", "a Flash file"),
}


def identify(head: bytes) -> tuple[str, str] | None:
    """(Chinese, English) for a file that is none of PDF, DOCX, OFD or text, by the
    signature in its first bytes; None when no binary kind matches."""
    import puremagic

    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    for match in matches:
        if match.confidence < _MIN_CONFIDENCE:
            continue
        label = _label(match.extension.lower(), match.mime_type, match.name)
        if label is not None:
            return label
    return None


def _label(extension: str, mime: str, name: str) -> tuple[str, str] | None:
    short = extension.lstrip(".").upper()
    if mime.startswith("image/"):
        return f"{short} 图片", f"a {short} image"
    if mime.startswith("audio/"):
        return f"{short} 音频文件", f"a {short} audio file"
    if mime.startswith("video/"):
        return f"{short} 视频文件", f"a {short} video file"
    if extension in _ARCHIVES:
        return f"{short} 压缩包", f"a {short} archive"
    if extension in _EXECUTABLES or "executable" in name.lower():
        return "可执行程序", "an executable program"
    return _DOCUMENTS.get(extension)

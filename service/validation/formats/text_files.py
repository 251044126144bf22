"""Plain-text files: UTF-8 (with or without BOM), else GB18030 when charset-normalizer's
mess detector finds the GB18030 reading to be text rather than noise.

Only that last judgement is charset-normalizer's. UTF-8 needs no guess (a strict decode
is exact), and `from_bytes` does not take UTF-8 cut inside its last character (an
interrupted upload): it reads it as GB18030. Nor does it refuse NUL bytes in UTF-8.
"""

from __future__ import annotations

import re

from charset_normalizer.md import mess_ratio

from service.validation.formats.limits import ReadProblem, unsupported

# A few stray control characters (a DOS end-of-file mark, a pasted backspace) do not
# make a file binary; more than this share of them does. Kept for GB18030 too: the mess
# detector lets a larger share of them through.
_MAX_CONTROL_SHARE = 0.005
# charset-normalizer's own default: a reading this messy is no text in that charset.
_MAX_MESS = 0.2

_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def decode_text(data: bytes) -> tuple[str, str]:
    """The text and its charset name ("utf-8" or "gb18030"); ReadProblem when neither fits."""
    text = _utf8(data)
    if text is not None:
        if _looks_like_text(text):
            return text, "utf-8"
        raise unsupported("内容不是文本", "the content is not text")
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise unsupported(
            "既不是 UTF-8 也不是 GB18030 文本", "neither UTF-8 nor GB18030 text"
        ) from None
    if _looks_like_text(text) and _reads_as_text(text):
        return text, "gb18030"
    raise unsupported("内容不是文本", "the content is not text")


def plausible_text(head: bytes) -> bool:
    """Whether the first bytes of a file read as text in either charset (the head may
    end inside a character)."""
    try:
        decode_text(head)
    except ReadProblem:
        return _gb18030_head(head)
    return True


def _gb18030_head(head: bytes) -> bool:
    for cut in range(4):  # a GB18030 character is at most 4 bytes
        try:
            text = head[: len(head) - cut].decode("gb18030")
        except UnicodeDecodeError:
            continue
        return _looks_like_text(text) and _reads_as_text(text)
    return False


def _reads_as_text(text: str) -> bool:
    """GB18030 decodes most byte strings into something: charset-normalizer's measure of
    mess (unprintables, unlikely mixes of scripts and symbols) tells text from that. Over
    the whole text: `from_bytes(data, cp_isolation=["gb18030"])` judges alike from a few
    samples, but decodes again and costs four times as much on a short file."""
    return mess_ratio(text, _MAX_MESS) < _MAX_MESS


def _utf8(data: bytes) -> str | None:
    """UTF-8 text, also when cut inside its last character (an interrupted upload):
    UTF-8 Chinese happens to decode as GB18030 too, into nonsense."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        truncated = exc.reason == "unexpected end of data" and exc.end == len(data)
        cut = exc.start
    if not truncated:
        return None
    try:
        return data[:cut].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _looks_like_text(text: str) -> bool:
    if "\x00" in text:
        return False
    controls = len(text) - len(_CONTROLS.sub("", text))
    return controls <= len(text) * _MAX_CONTROL_SHARE

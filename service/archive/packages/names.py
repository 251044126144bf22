"""What packages and the files in them are called: the package prefix, payload names
that any file system and zip reader accept, and the bag's own file names.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from service import __version__

MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
BAGIT = "bagit.txt"
BAG_INFO = "bag-info.txt"
METADATA = "metadata.json"
SOFTWARE_AGENT = f"disclosure-service/{__version__}"
TAG_WRITERS = 8
MAX_NAME_BYTES = 200  # below NAME_MAX (255), leaving room for the store's own needs

BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_ID_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_VERSION_SEGMENT = re.compile(r"v([1-9][0-9]*)\Z")
SHA256 = re.compile(r"[0-9a-f]{64}\Z")
MANIFEST_LINE = re.compile(r"([0-9a-fA-F]{64})[ \t]+(.+)\Z")
BAG_INFO_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9-]*\Z")
DESTINATION = re.compile(r"[a-z0-9_]+\Z")  # no `-`: it ends the name in receipt keys
_LEADING_DOTS_AND_SPACE = re.compile(r"^[\s.]+|\s+$")
COMPUTED_INFO = frozenset(("bagging-date", "bag-software-agent", "payload-oxum"))


# -- names ------------------------------------------------------------------------


@dataclass(frozen=True)
class PackageId:
    """Which filing version a package holds; its `prefix` is where it lives."""

    org_code: str
    category: str
    period: str
    filing_id: str
    version: int

    def __post_init__(self) -> None:
        for value in (self.org_code, self.category, self.period, self.filing_id):
            if not _ID_SEGMENT.match(value):
                raise ValueError(f"not usable in a package prefix: {value!r}")
        if self.version < 1:
            raise ValueError(f"version must be 1 or more, not {self.version}")

    @property
    def prefix(self) -> str:
        return f"filings/{self.org_code}/{self.category}/{self.period}/{self.filing_id}/v{self.version}/"

    @property
    def external_identifier(self) -> str:
        return f"{self.filing_id}/v{self.version}"

    @classmethod
    def from_prefix(cls, prefix: str) -> PackageId:
        parts = prefix.split("/")
        version = _VERSION_SEGMENT.match(parts[5]) if len(parts) == 7 else None
        if version is None or parts[0] != "filings" or parts[6] != "":
            raise ValueError(f"not a package prefix: {prefix!r}")
        return cls(parts[1], parts[2], parts[3], parts[4], int(version.group(1)))


def package_prefix(org_code: str, category: str, period: str, filing_id: str, version: int) -> str:
    return PackageId(org_code, category, period, filing_id, version).prefix


def payload_name(submitted: str) -> str:
    """The name a submitted file is stored under in `data/`; applying it twice changes
    nothing, so either name finds the file.

    NFC-normalised; path separators and control/format characters become `_`; `%`
    becomes `％` (the `bagit` tool does not decode `%25` in manifests); leading dots and
    surrounding spaces go; at most 200 UTF-8 bytes, keeping the extension. Chinese and
    inner spaces stay. `metadata.json` is ours, so a submitted one becomes `_metadata.json`.
    """
    name = "".join(_safe_char(c) for c in unicodedata.normalize("NFC", submitted))
    name = _truncate(_LEADING_DOTS_AND_SPACE.sub("", name)) or "unnamed"
    return f"_{name}" if name.casefold() == METADATA else name


def _safe_char(char: str) -> str:
    if char in "/\\" or unicodedata.category(char)[0] == "C" or char in "\u2028\u2029":
        return "_"
    return "％" if char == "%" else char


def _truncate(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, suffix = name.rpartition(".")
    ending = dot + suffix if stem and len(suffix.encode()) <= 16 else ""
    budget = MAX_NAME_BYTES - len(ending.encode())
    return (
        name[: len(name) - len(ending)].encode()[:budget].decode(errors="ignore").rstrip() + ending
    )


def package_prefix_of(key: str) -> str | None:
    """The prefix of the package `key` lies in, or None when it lies in none."""
    parts = key.split("/")
    if len(parts) < 7:
        return None
    candidate = "/".join(parts[:6]) + "/"
    try:
        return PackageId.from_prefix(candidate).prefix
    except ValueError:
        return None


def relative(prefix: str, key: str, under: str) -> str:
    if not key.startswith(prefix + under):
        raise ValueError(f"{key!r} is not under {prefix + under!r}")
    return key.removeprefix(prefix)

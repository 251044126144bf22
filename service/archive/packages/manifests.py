"""The bag's tag files: manifests (RFC 8493 §2.1.3) and bag-info."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from service.archive.packages.names import (
    BAG_INFO_LABEL,
    COMPUTED_INFO,
    DESTINATION,
    MANIFEST,
    MANIFEST_LINE,
    PackageId,
)
from service.archive.port import check_key
from service.domain.errors import FixityMismatch


def manifest_text(hashes: Mapping[str, str]) -> str:
    """RFC 8493 manifest lines, sorted by path: `<sha256>  <path>`, with `%`, CR, LF
    in paths percent-encoded."""
    return "".join(f"{sha}  {_encode_path(path)}\n" for path, sha in sorted(hashes.items()))


def parse_manifest(text: str) -> dict[str, str]:
    """Path → sha256 from `manifest-sha256.txt`; `FixityMismatch` if it is malformed."""
    entries: dict[str, str] = {}
    lines = re.split(r"\r\n|\r|\n", text)  # not str.splitlines: it also splits at \f, \x85…
    if lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        match = MANIFEST_LINE.match(line)
        path = _decode_path(match.group(2)) if match else ""
        if not match or not _is_payload_path(path) or path in entries:
            raise FixityMismatch(f"{MANIFEST} line {number} is malformed: {line!r}")
        entries[path] = match.group(1).lower()
    return entries


def _encode_path(path: str) -> str:
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode_path(path: str) -> str:
    codes = {"%25": "%", "%0D": "\r", "%0A": "\n"}
    return re.sub(r"%(25|0[dD]|0[aA])", lambda m: codes[m.group(0).upper()], path)


def _is_payload_path(path: str) -> bool:
    try:
        check_key(path)
    except ValueError:
        return False
    return path.startswith("data/")


def check_destination(destination: str) -> None:
    if not DESTINATION.match(destination):
        raise ValueError(f"not a destination name: {destination!r}")


def prefix_info(package: PackageId) -> dict[str, str]:
    return {
        "Organization-Code": package.org_code,
        "Category": str(package.category),
        "Period": package.period,
        "External-Identifier": package.external_identifier,
    }


def check_bag_info(bag_info: Mapping[str, str], from_prefix: Mapping[str, str]) -> None:
    for label, value in bag_info.items():
        if not BAG_INFO_LABEL.match(label) or label.casefold() in COMPUTED_INFO:
            raise ValueError(f"bag-info label not allowed: {label!r}")
        if len(value.splitlines()) > 1:
            raise ValueError(f"bag-info value must be one line: {label}: {value!r}")
        if from_prefix.get(label, value.strip()) != value.strip():
            raise ValueError(f"bag-info {label}: {value!r} disagrees with the package prefix")


def json_bytes(document: Mapping[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode()

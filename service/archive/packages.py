"""Packages: one BagIt bag (RFC 8493) per filing version, on any `ArchiveStore`.

    filings/{org_code}/{category}/{period}/{filing_id}/v{n}/
        data/<payload name>        the submitted files, named by `payload_name`
        data/metadata.json         all the catalog knows of the version (the rebuild source)
        bagit.txt
        bag-info.txt
        manifest-sha256.txt        written last: its presence marks the package complete
        receipts/<dest>-<n>.json   delivery receipts, write-once, only once complete

A package without its manifest is incomplete: it is never served, and since the
service never deletes, `reconcile` finds it through `iter_packages` and reports it.
Every read of a payload is checked against the manifest (`FixityMismatch` at EOF).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from service import __version__
from service.archive.filesystem import check_key
from service.archive.fixity import (
    FixityReport,
    Mismatch,
    hash_stream,
    iter_chunks,
    verifying_reader,
)
from service.archive.port import ArchiveStore, StagedPut, StoredObject
from service.archive.retention import Period
from service.domain.errors import AlreadyExists, FixityMismatch, ObjectMissing
from service.domain.time import SHANGHAI, utcnow

MANIFEST = "manifest-sha256.txt"
TAG_MANIFEST = "tagmanifest-sha256.txt"
BAGIT = "bagit.txt"
BAG_INFO = "bag-info.txt"
METADATA = "metadata.json"
SOFTWARE_AGENT = f"disclosure-service/{__version__}"
TAG_WRITERS = 8
MAX_NAME_BYTES = 200  # below NAME_MAX (255), leaving room for the store's own needs

_BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
_ID_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
_VERSION_SEGMENT = re.compile(r"v([1-9][0-9]*)\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_MANIFEST_LINE = re.compile(r"([0-9a-fA-F]{64})[ \t]+(.+)\Z")
_BAG_INFO_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9-]*\Z")
_DESTINATION = re.compile(r"[a-z0-9_]+\Z")  # no `-`: it ends the name in receipt keys
_LEADING_DOTS_AND_SPACE = re.compile(r"^[\s.]+|\s+$")
_COMPUTED_INFO = frozenset(("bagging-date", "bag-software-agent", "payload-oxum"))


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


# -- manifests ---------------------------------------------------------------------


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
        match = _MANIFEST_LINE.match(line)
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


# -- packages ----------------------------------------------------------------------


@dataclass(frozen=True)
class PayloadFile:
    """One submitted file, stored as `data/{payload_name(name)}`: from `source`, or
    already under way as `staged` (see `Packages.stage_payload`). When `expected_sha256`
    is given and the stored bytes hash otherwise, the package is left incomplete. With
    every file's `size` known, `bag-info.txt` is written beside the payload."""

    name: str
    source: BinaryIO | None = None
    expected_sha256: str | None = None
    media_type: str | None = None
    staged: StagedPut | None = None
    size: int | None = None


@dataclass(frozen=True)
class PackageRef:
    """A complete package: its payload files (`metadata.json` included) and manifest."""

    prefix: str
    files: tuple[StoredObject, ...]
    manifest: StoredObject


class WritableStream(Protocol):
    """Where `write_zip` sends the zip: a file, a pipe, a response body."""

    def write(self, data: bytes, /) -> object: ...
    def flush(self) -> None: ...


class Packages:
    """Writes, reads, verifies and exports packages in one `ArchiveStore`."""

    def __init__(self, store: ArchiveStore, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock
        # The small files of a package go out beside its payload (whose own writes the
        # store parallelises); none of these jobs waits for another, so any size will do.
        self._pool = ThreadPoolExecutor(TAG_WRITERS, thread_name_prefix="package")

    # -- writing --

    def put_package(
        self,
        prefix: str,
        payload: Sequence[PayloadFile],
        metadata: Mapping[str, Any],
        bag_info: Mapping[str, str],
        *,
        retention: Period | None = None,
    ) -> PackageRef:
        """Write the bag, manifest last. Any failure re-raises and leaves the package
        incomplete; every argument is checked before the first write. A prefix that
        holds anything is refused (`AlreadyExists`) at once: one listing instead of each
        object's early refusal. `metadata.json`, `bagit.txt` and (when every payload
        file's size is given) `bag-info.txt` go out together.

        `bag_info` adds lines such as `Source-Organization`. Organization-Code, Category,
        Period and External-Identifier come from the prefix (given ones must agree);
        Bagging-Date, Bag-Software-Agent and Payload-Oxum are computed (never given).
        `retention`: every object's, where not its category's (`filing_period`).

        The small files go out, side by side, once the payload is archived: a payload
        that fails leaves nothing for them to orphan, and under Object Lock an orphan
        could never be removed."""
        package = PackageId.from_prefix(prefix)
        _check_payload(prefix, payload)
        metadata_json = _json_bytes(metadata)
        _check_bag_info(bag_info, _prefix_info(package))
        sizes = [f.size for f in payload] + [len(metadata_json)]
        known_sizes = [size for size in sizes if size is not None]
        if next(iter(self._store.list(prefix)), None) is not None:
            raise AlreadyExists(f"package {prefix} already holds objects")
        # The whole prefix was found empty just now.
        put = partial(self._put_bytes, absent_checked=True, retention=retention)
        files = [self._put_payload(prefix, f, retention) for f in payload]
        tags = [
            self._pool.submit(put, f"{prefix}data/{METADATA}", metadata_json, "application/json"),
            self._pool.submit(put, prefix + BAGIT, _BAGIT_TXT),
        ]
        if len(known_sizes) == len(sizes):
            info = self._bag_info(package, bag_info, known_sizes)
            tags.append(self._pool.submit(put, prefix + BAG_INFO, info))
        files.append(_results(tags)[0])
        if len(known_sizes) == len(sizes):
            _check_sizes(files, known_sizes)
        else:
            put(prefix + BAG_INFO, self._bag_info(package, bag_info, [f.size for f in files]))
        hashes = {f.key.removeprefix(prefix): f.sha256 for f in files}
        manifest = put(prefix + MANIFEST, manifest_text(hashes).encode())
        return PackageRef(prefix, tuple(files), manifest)

    def stage_payload(
        self,
        prefix: str,
        name: str,
        path: Path,
        *,
        sha256: str,
        size: int | None = None,
        size_hint: int | None = None,
        retention: Period | None = None,
    ) -> PayloadFile:
        """Start writing the file at `path` (complete at `size` bytes, or still being
        written) as the payload file `name` of the package at `prefix`, before the rest
        of the package is known (`ArchiveStore.stage`): pass the result to
        `put_package`, which commits it, or call its `staged.abort()`."""
        PackageId.from_prefix(prefix)
        key = f"{prefix}data/{payload_name(name)}"
        staged = self._store.stage(
            key, path, sha256=sha256, size=size, size_hint=size_hint, retention=retention
        )
        return PayloadFile(name, expected_sha256=sha256, staged=staged, size=size)

    def _put_payload(
        self, prefix: str, file: PayloadFile, retention: Period | None
    ) -> StoredObject:
        """A staged payload file committed (its bytes mostly sent already), or one from
        a source put."""
        if file.staged is not None:
            stored = file.staged.commit()
        else:
            assert file.source is not None
            stored = self._store.put_new(
                f"{prefix}data/{payload_name(file.name)}",
                file.source,
                content_type=file.media_type,
                absent_checked=True,
                retention=retention,
            )
        return _expected(stored, file)

    def _put_bytes(
        self,
        key: str,
        data: bytes,
        media_type: str = "text/plain; charset=utf-8",
        *,
        absent_checked: bool = False,
        retention: Period | None = None,
    ) -> StoredObject:
        return self._store.put_new(
            key,
            io.BytesIO(data),
            content_type=media_type,
            absent_checked=absent_checked,
            retention=retention,
        )

    def _bag_info(
        self, package: PackageId, extra: Mapping[str, str], sizes: Sequence[int]
    ) -> bytes:
        source = {k: v for k, v in extra.items() if k == "Source-Organization"}
        computed = {
            "Bagging-Date": self._clock().astimezone(SHANGHAI).date().isoformat(),
            "Bag-Software-Agent": SOFTWARE_AGENT,
            "Payload-Oxum": f"{sum(sizes)}.{len(sizes)}",
        }
        lines = source | _prefix_info(package) | computed | dict(extra)
        return "".join(f"{label}: {value.strip()}\n" for label, value in lines.items()).encode()

    def put_receipt(
        self,
        prefix: str,
        destination: str,
        receipt: Mapping[str, Any],
        *,
        seq: int | None = None,
        retention: Period | None = None,
    ) -> StoredObject:
        """Archive a delivery receipt as `receipts/{destination}-{seq:06d}.json`, or with a
        UTC timestamp for `seq` when it is None. Refused (`ObjectMissing`) while the package
        is incomplete. Putting an identical receipt again returns the stored one; a
        different one under a taken key raises `AlreadyExists`. `retention`: as the
        package's (`filing_period`)."""
        _check_destination(destination)
        self._require_complete(prefix)
        key = f"{prefix}receipts/{destination}-{self._receipt_label(seq)}.json"
        data = _json_bytes(receipt)
        try:
            return self._put_bytes(key, data, "application/json", retention=retention)
        except AlreadyExists:
            stored = self._store.stat(key)
            if stored is None or stored.sha256 != hashlib.sha256(data).hexdigest():
                raise
            return stored

    def _receipt_label(self, seq: int | None) -> str:
        if seq is not None:
            return f"{seq:06d}"
        return self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")

    def existing_receipt(
        self, prefix: str, destination: str, *, seq: int | None = None
    ) -> StoredObject:
        """The destination's receipt number `seq`, or without it the last in key order (the
        latest, for timestamped or numbered ones); `ObjectMissing` if there is none."""
        _check_destination(destination)
        start = f"{prefix}receipts/{destination}-" + ("" if seq is None else f"{seq:06d}.json")
        keys = list(self._store.list(start))
        stored = self._store.stat(keys[-1]) if keys else None
        if stored is None:
            raise ObjectMissing(f"no {destination} receipt in {prefix}")
        return stored

    # -- reading --

    def is_complete(self, prefix: str) -> bool:
        return self._store.stat(prefix + MANIFEST) is not None

    def read_manifest(self, prefix: str) -> dict[str, str]:
        """Payload path (`data/…`) → sha256; `ObjectMissing` if the package is incomplete."""
        try:
            with self._store.open(prefix + MANIFEST) as stream:
                raw = stream.read()
        except ObjectMissing:
            raise ObjectMissing(f"package {prefix} is incomplete: it has no {MANIFEST}") from None
        try:
            return parse_manifest(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise FixityMismatch(f"{prefix}{MANIFEST} is not UTF-8: {exc}") from None

    def read_metadata(self, prefix: str) -> dict[str, Any]:
        """`data/metadata.json`, checked against the manifest."""
        with self._open_listed(prefix, f"data/{METADATA}") as stream:
            document = json.loads(stream.read())
        if not isinstance(document, dict):
            raise FixityMismatch(f"{prefix}data/{METADATA} is not a JSON object")
        return document

    def open_payload(self, prefix: str, name: str) -> AbstractContextManager[BinaryIO]:
        """A submitted file of a complete package (by its submitted or stored name),
        checked against the manifest as it is read: `FixityMismatch` at EOF.
        `ObjectMissing` if the package is incomplete or does not list the file."""
        return self._open_listed(prefix, f"data/{payload_name(name)}")

    @contextmanager
    def _open_listed(self, prefix: str, path: str) -> Iterator[BinaryIO]:
        expected = self.read_manifest(prefix).get(path)
        if expected is None:
            raise ObjectMissing(f"{prefix}{path} is not in the package manifest")
        with self._store.open(prefix + path) as raw:
            yield verifying_reader(raw, expected, what=prefix + path)

    def list_receipts(self, prefix: str) -> list[str]:
        """Keys of the package's receipts, sorted."""
        return list(self._store.list(f"{prefix}receipts/"))

    def unfinished_writes(self, before: datetime) -> list[tuple[str, datetime]]:
        """Writes a killed process began before `before` and left (`ArchiveStore.unfinished`)."""
        return list(self._store.unfinished(before))

    def iter_packages(self) -> Iterator[str]:
        """The prefix of every package with at least one object, complete or not."""
        last = None
        for key in self._store.list("filings/"):
            prefix = package_prefix_of(key)
            if prefix is not None and prefix != last:
                last = prefix
                yield prefix

    # -- fixity --

    def verify(
        self,
        prefix: str,
        receipt_hashes: Mapping[str, str] | None = None,
        *,
        manifest_sha256: str | None = None,
    ) -> FixityReport:
        """Re-hash every manifest entry from storage, and the receipts (key → sha256) and
        the manifest itself when their recorded hashes are given. Reports missing and
        mismatched files, and files in `data/` (and, given `receipt_hashes`, receipts)
        that nothing records. Damage is reported, never raised."""
        if not self.is_complete(prefix):
            return FixityReport(prefix, complete=False, checked=0, missing=(MANIFEST,))
        audit = _Audit(self._store, prefix)
        if manifest_sha256 is not None:
            audit.check(MANIFEST, manifest_sha256)
        manifest = audit.manifest(self)
        for path, sha256 in sorted(manifest.items()):
            audit.check(path, sha256)
        audit.require(BAGIT, BAG_INFO)
        audit.unrecorded(f"{prefix}data/", manifest)
        if receipt_hashes is not None:
            receipts = {
                _relative(prefix, key, "receipts/"): sha for key, sha in receipt_hashes.items()
            }
            for path, sha256 in sorted(receipts.items()):
                audit.check(path, sha256)
            audit.unrecorded(f"{prefix}receipts/", receipts)
        return audit.report()

    # -- export --

    def write_zip(self, prefix: str, out: WritableStream, *, bag_name: str) -> None:
        """Stream the bag as a zip into `out` (which need not be seekable), under the
        folder `bag_name`, with the receipts as tag files and a `tagmanifest-sha256.txt`.
        Payload bytes are checked while copied; on `FixityMismatch` the zip is left
        without its central directory, so no zip reader accepts it."""
        if payload_name(bag_name) != bag_name:
            raise ValueError(f"not usable as a bag name: {bag_name!r}")
        manifest = self.read_manifest(prefix)
        sink = _Sink(out)
        with (
            zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive,
            sink.cut_on_error(),
        ):
            tags = {
                rel: self._zip_object(archive, bag_name, prefix, rel)
                for rel in (BAGIT, BAG_INFO, MANIFEST)
            }
            for rel, sha256 in sorted(manifest.items()):
                self._zip_object(archive, bag_name, prefix, rel, sha256)
            for key in self.list_receipts(prefix):
                rel = key.removeprefix(prefix)
                tags[rel] = self._zip_object(archive, bag_name, prefix, rel)
            with archive.open(self._zip_info(f"{bag_name}/{TAG_MANIFEST}", 0), "w") as entry:
                entry.write(manifest_text(tags).encode())

    def _zip_object(
        self,
        archive: zipfile.ZipFile,
        bag_name: str,
        prefix: str,
        rel: str,
        expected: str | None = None,
    ) -> str:
        """Copy one stored object into the zip; its sha256 as copied."""
        key = prefix + rel
        stored = self._store.stat(key)
        digest = hashlib.sha256()
        with self._store.open(key) as raw:
            source = raw if expected is None else verifying_reader(raw, expected, what=key)
            info = self._zip_info(f"{bag_name}/{rel}", stored.size if stored else 0)
            with archive.open(info, "w") as entry:
                for chunk in iter_chunks(source):
                    digest.update(chunk)
                    entry.write(chunk)
        return digest.hexdigest()

    def _zip_info(self, name: str, size: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, self._clock().astimezone(SHANGHAI).timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
        info.file_size = size  # lets zipfile choose ZIP64 for entries over 2 GiB
        return info

    def _require_complete(self, prefix: str) -> None:
        if not self.is_complete(prefix):
            raise ObjectMissing(f"package {prefix} is incomplete: it has no {MANIFEST}")


class _Sink:
    """Passes the zip's bytes to `out` until cut off, after which it drops them: a failed
    export must not end with the closing records that `ZipFile` writes on exit."""

    def __init__(self, out: WritableStream) -> None:
        self._out = out
        self._cut = False

    def write(self, data: bytes) -> int:
        if not self._cut:
            self._out.write(data)
        return len(data)

    def flush(self) -> None:
        if not self._cut:
            self._out.flush()

    def close(self) -> None:
        """`out` belongs to the caller, who closes it."""

    @contextmanager
    def cut_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self._cut = True
            raise


class _Audit:
    """Collects what `Packages.verify` finds in one package."""

    def __init__(self, store: ArchiveStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self.checked = 0
        self.missing: list[str] = []
        self.mismatched: list[Mismatch] = []
        self.unreadable: list[str] = []
        self.extra: list[str] = []

    def manifest(self, packages: Packages) -> dict[str, str]:
        try:
            return packages.read_manifest(self._prefix)
        except FixityMismatch:
            self.unreadable.append(MANIFEST)
            return {}

    def check(self, path: str, recorded: str) -> None:
        try:
            with self._store.open(self._prefix + path) as stream:
                found = hash_stream(stream)[0]
        except ObjectMissing:
            self.missing.append(path)
            return
        self.checked += 1
        if found != recorded.lower():
            self.mismatched.append(Mismatch(path, recorded.lower(), found))

    def require(self, *paths: str) -> None:
        self.missing.extend(p for p in paths if self._store.stat(self._prefix + p) is None)

    def unrecorded(self, under: str, recorded: Mapping[str, str]) -> None:
        present = (key.removeprefix(self._prefix) for key in self._store.list(under))
        self.extra.extend(path for path in present if path not in recorded)

    def report(self) -> FixityReport:
        return FixityReport(
            self._prefix,
            complete=True,
            checked=self.checked,
            missing=tuple(self.missing),
            mismatched=tuple(self.mismatched),
            unreadable=tuple(self.unreadable),
            extra=tuple(self.extra),
        )


def _check_payload(prefix: str, payload: Sequence[PayloadFile]) -> None:
    seen: set[str] = set()
    for file in payload:
        name = payload_name(file.name).casefold()
        if name in seen:  # case-insensitive: the bag may be unzipped on Windows or macOS
            raise ValueError(f"two payload files would be stored as {payload_name(file.name)!r}")
        seen.add(name)
        if file.expected_sha256 is not None and not _SHA256.match(file.expected_sha256.lower()):
            raise ValueError(f"not a sha256: {file.expected_sha256!r}")
        if (file.source is None) == (file.staged is None):
            raise ValueError(f"{file.name!r}: give a payload file either a source or staged")
        if file.staged is not None and file.staged.key != f"{prefix}data/{payload_name(file.name)}":
            raise ValueError(f"{file.name!r} was staged under another key: {file.staged.key!r}")


def _expected(stored: StoredObject, file: PayloadFile) -> StoredObject:
    if file.expected_sha256 is not None and stored.sha256 != file.expected_sha256.lower():
        raise FixityMismatch(
            f"{stored.key}: stored sha256 {stored.sha256}, expected {file.expected_sha256}"
        )
    return stored


def _results(futures: Sequence[Future[StoredObject]]) -> list[StoredObject]:
    """Every write's result, once all have ended; the first failure is raised then."""
    wait(futures)
    return [future.result() for future in futures]


def _check_sizes(files: Sequence[StoredObject], expected: Sequence[int]) -> None:
    """bag-info.txt went out with the declared sizes: they must be the stored ones."""
    for stored, size in zip(files, expected, strict=True):
        if stored.size != size:
            raise FixityMismatch(f"{stored.key}: stored {stored.size} bytes, declared {size}")


def _check_destination(destination: str) -> None:
    if not _DESTINATION.match(destination):
        raise ValueError(f"not a destination name: {destination!r}")


def _prefix_info(package: PackageId) -> dict[str, str]:
    return {
        "Organization-Code": package.org_code,
        "Category": str(package.category),
        "Period": package.period,
        "External-Identifier": package.external_identifier,
    }


def _check_bag_info(bag_info: Mapping[str, str], from_prefix: Mapping[str, str]) -> None:
    for label, value in bag_info.items():
        if not _BAG_INFO_LABEL.match(label) or label.casefold() in _COMPUTED_INFO:
            raise ValueError(f"bag-info label not allowed: {label!r}")
        if len(value.splitlines()) > 1:
            raise ValueError(f"bag-info value must be one line: {label}: {value!r}")
        if from_prefix.get(label, value.strip()) != value.strip():
            raise ValueError(f"bag-info {label}: {value!r} disagrees with the package prefix")


def _json_bytes(document: Mapping[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    return (text + "\n").encode()


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


def _relative(prefix: str, key: str, under: str) -> str:
    if not key.startswith(prefix + under):
        raise ValueError(f"{key!r} is not under {prefix + under!r}")
    return key.removeprefix(prefix)

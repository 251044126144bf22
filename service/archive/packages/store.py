"""`Packages`: writing, reading, verifying and exporting packages on an `ArchiveStore`."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from service.archive.fixity import (
    FixityReport,
    iter_chunks,
    verifying_reader,
)
from service.archive.packages.audit import Audit
from service.archive.packages.export import Sink, WritableStream
from service.archive.packages.manifests import (
    check_bag_info,
    check_destination,
    json_bytes,
    manifest_text,
    parse_manifest,
    prefix_info,
)
from service.archive.packages.names import (
    BAG_INFO,
    BAGIT,
    BAGIT_TXT,
    MANIFEST,
    METADATA,
    SHA256,
    SOFTWARE_AGENT,
    TAG_MANIFEST,
    TAG_WRITERS,
    PackageId,
    package_prefix_of,
    payload_name,
    relative,
)
from service.archive.packages.proof import PROOF_DIR, Proofs, tag_manifest_key, token_key
from service.archive.port import ArchiveStore, StagedPut, StoredObject
from service.archive.retention import Period
from service.domain.errors import AlreadyExists, FixityMismatch, ObjectMissing
from service.domain.time import SHANGHAI, utcnow

SAME_MOMENT_DECISIONS = 100  # decisions of one kind a package may take at one microsecond


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
        metadata_json = json_bytes(metadata)
        check_bag_info(bag_info, prefix_info(package))
        sizes = [f.size for f in payload] + [len(metadata_json)]
        known_sizes = [size for size in sizes if size is not None]
        if next(iter(self._store.list(prefix)), None) is not None:
            raise AlreadyExists(f"package {prefix} already holds objects")
        # The whole prefix was found empty just now.
        put = partial(self._put_bytes, absent_checked=True, retention=retention)
        files = [self._put_payload(prefix, f, retention) for f in payload]
        tags = [
            self._pool.submit(put, f"{prefix}data/{METADATA}", metadata_json, "application/json"),
            self._pool.submit(put, prefix + BAGIT, BAGIT_TXT),
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
        Proofs(self._store).put_tag_manifest(prefix, retention=retention)  # then a timestamp
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
        lines = source | prefix_info(package) | computed | dict(extra)
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
        check_destination(destination)
        self._require_complete(prefix)
        key = f"{prefix}receipts/{destination}-{self._receipt_label(seq)}.json"
        data = json_bytes(receipt)
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
        check_destination(destination)
        start = f"{prefix}receipts/{destination}-" + ("" if seq is None else f"{seq:06d}.json")
        keys = list(self._store.list(start))
        stored = self._store.stat(keys[-1]) if keys else None
        if stored is None:
            raise ObjectMissing(f"no {destination} receipt in {prefix}")
        return stored

    def put_decision(
        self,
        prefix: str,
        kind: str,
        decision: Mapping[str, Any],
        *,
        retention: Period | None = None,
    ) -> StoredObject:
        """Archive a decision about the package's version (a schedule change) as
        `decisions/{kind}-{UTC timestamp}-{nn}.json`, write-once: the last in key order is
        the one in force; `nn` orders decisions made at the same microsecond. Refused
        (`ObjectMissing`) while the package is incomplete."""
        check_destination(kind)
        self._require_complete(prefix)
        stamp = self._receipt_label(None)
        for n in range(SAME_MOMENT_DECISIONS):
            key = f"{prefix}decisions/{kind}-{stamp}-{n:02d}.json"
            try:
                return self._put_bytes(
                    key, json_bytes(decision), "application/json", retention=retention
                )
            except AlreadyExists:
                continue
        raise AlreadyExists(f"{SAME_MOMENT_DECISIONS} {kind} decisions at {stamp} in {prefix}")

    def latest_decision(self, prefix: str, kind: str) -> StoredObject | None:
        """The decision of that kind in force (the last in key order), or None."""
        keys = list(self._store.list(f"{prefix}decisions/{kind}-"))
        return self._store.stat(keys[-1]) if keys else None

    def read_receipt(self, stored: StoredObject) -> dict[str, Any]:
        """A receipt object's JSON, checked against the SHA-256 recorded when it was put."""
        with (
            self._store.open(stored.key) as raw,
            verifying_reader(raw, stored.sha256, what=stored.key) as stream,
        ):
            document = json.loads(stream.read())
        if not isinstance(document, dict):
            raise FixityMismatch(f"{stored.key} is not a JSON object")
        return document

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
        """Keys of the delivery receipts and decisions, sorted (not `receipts/captures/`)."""
        return [k for k in self.list_receipt_files(prefix) if "/captures/" not in k]

    def list_receipt_files(self, prefix: str) -> list[str]:
        """Every file under `receipts/` (captures and their tokens too), sorted."""
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
        audit = Audit(self._store, prefix)
        if manifest_sha256 is not None:
            audit.check(MANIFEST, manifest_sha256)
        manifest = audit.manifest(self.read_manifest)
        for path, sha256 in sorted(manifest.items()):
            audit.check(path, sha256)
        audit.require(BAGIT, BAG_INFO)
        audit.unrecorded(f"{prefix}data/", manifest)
        if receipt_hashes is not None:
            receipts = {
                relative(prefix, key, "receipts/"): sha for key, sha in receipt_hashes.items()
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
        sink = Sink(out)
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
            for key in self.list_receipt_files(prefix):
                rel = key.removeprefix(prefix)
                tags[rel] = self._zip_object(archive, bag_name, prefix, rel)
            tags |= self._zip_proof(archive, bag_name, prefix)
            with archive.open(self._zip_info(f"{bag_name}/{TAG_MANIFEST}", 0), "w") as entry:
                entry.write(manifest_text(tags).encode())

    def _zip_proof(self, archive: zipfile.ZipFile, bag_name: str, prefix: str) -> dict[str, str]:
        """The archived tag manifest and its token, as `proof/…` (the zip's own
        tagmanifest-sha256.txt covers every tag file, these among them)."""
        found: dict[str, str] = {}
        for key in (tag_manifest_key(prefix), token_key(tag_manifest_key(prefix))):
            if self._store.stat(key) is not None:
                rel = PROOF_DIR + key.removeprefix(prefix)
                found[rel] = self._zip_object(
                    archive, bag_name, prefix, key.removeprefix(prefix), as_name=rel
                )
        return found

    def _zip_object(
        self,
        archive: zipfile.ZipFile,
        bag_name: str,
        prefix: str,
        rel: str,
        expected: str | None = None,
        *,
        as_name: str | None = None,
    ) -> str:
        """Copy one stored object into the zip (as `as_name`, else `rel`); its sha256 as
        copied."""
        key = prefix + rel
        stored = self._store.stat(key)
        digest = hashlib.sha256()
        with self._store.open(key) as raw:
            source = raw if expected is None else verifying_reader(raw, expected, what=key)
            info = self._zip_info(f"{bag_name}/{as_name or rel}", stored.size if stored else 0)
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


def _check_payload(prefix: str, payload: Sequence[PayloadFile]) -> None:
    seen: set[str] = set()
    for file in payload:
        name = payload_name(file.name).casefold()
        if name in seen:  # case-insensitive: the bag may be unzipped on Windows or macOS
            raise ValueError(f"two payload files would be stored as {payload_name(file.name)!r}")
        seen.add(name)
        if file.expected_sha256 is not None and not SHA256.match(file.expected_sha256.lower()):
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

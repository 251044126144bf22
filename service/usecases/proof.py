"""Proof of publication, as the API (GET /v1/filings/{id}/proof) and `verify` show it:
each version's timestamp — its status, what the token says, and whether it verifies
now, offline, against the archived file and the configured roots.

    | the stamp job                        | status          | verified          |
    |--------------------------------------|-----------------|-------------------|
    | pending, no TSA configured           | not_configured  | None              |
    | pending (the TSA is down, or not yet)| pending         | None              |
    | failed for good                      | failed          | False             |
    | stamped                              | stamped         | the token's check |

And each capture of a published page (service.usecases.capturing): where, when, what
it showed, its WARC, and its latest re-check's verdict — with a finding (Chinese and
English) when the page drifted from the filing or is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from service.archive.packages.names import TAG_MANIFEST
from service.archive.packages.proof import Proofs
from service.catalog.records import CaptureRecord, TimestampRecord
from service.domain.capture import PageVerdict, publication_finding
from service.domain.errors import ArchiveError, FixityMismatch
from service.domain.proof import TOKEN_PROBLEMS, StampStatus, TokenCheck, TokenProblem
from service.proof.tokens import check_token


@dataclass(frozen=True)
class ProofSetup:
    """What showing and verifying proof needs, handed over by the composition root."""

    proofs: Proofs
    roots: Sequence[x509.Certificate]
    tsa_configured: bool


def check_stamp(setup: ProofSetup, stamp: TimestampRecord, *, rehash: bool) -> TokenCheck:
    """The archived token against the archived file it stamps, at its own genTime.

    `rehash` (verify): the file's bytes are hashed again from storage, a chunk at a time,
    and checked against what the store recorded. Otherwise (the API's /proof and the
    filing's page, on every view) the SHA-256 the store recorded when the file was
    written stands for it: a capture's WARC may carry large attachments, and each
    re-check adds one; a bit changed since is found by `verify` and the fixity audit."""
    if stamp.token_key is None:
        return TokenCheck.failed("timestamp_missing")
    try:
        if rehash:
            digest = setup.proofs.sha256(stamp.stamped_key)
        else:
            digest = setup.proofs.recorded_sha256(stamp.stamped_key)
        token = setup.proofs.read(stamp.token_key)
    except FixityMismatch:  # the stamped bytes changed since they were written
        return TokenCheck.failed("timestamp_imprint_mismatch")
    except ArchiveError:
        return TokenCheck.failed("timestamp_missing")
    return check_token(token, digest, setup.roots)


def timestamp_view(
    setup: ProofSetup, stamp: TimestampRecord, *, rehash: bool = False
) -> dict[str, Any]:
    status, verified, problem = stamp.status, None, None
    if status == StampStatus.PENDING and not setup.tsa_configured:
        status = StampStatus.NOT_CONFIGURED.value
    if status == StampStatus.STAMPED:
        check = check_stamp(setup, stamp, rehash=rehash)
        verified, problem = check.ok, check.problem
    elif status == StampStatus.FAILED:
        verified = False
        problem = TOKEN_PROBLEMS.get((stamp.last_error or "").split(":")[0])
    return {
        "version": stamp.version,
        "status": status,
        "gen_time": stamp.gen_time.isoformat() if stamp.gen_time else None,
        "tsa": stamp.tsa,
        "serial_number": stamp.serial_number,
        "verified": verified,
        "file": stamp.stamped_key.rsplit("/", 1)[-1],
        "problem": None if problem is None else _as_dict(problem),
        "last_error": stamp.last_error,
    }  # fmt: skip


def proof_view(
    setup: ProofSetup, stamps: Sequence[TimestampRecord], captures: Sequence[CaptureRecord] = ()
) -> dict[str, Any]:
    return {
        "timestamps": [timestamp_view(setup, s) for s in stamps],
        "captures": [capture_view(c) for c in captures],
    }


def page_verdict(capture: CaptureRecord) -> PageVerdict:
    return PageVerdict(
        capture.version, capture.destination, capture.url, capture.verdict, capture.rot_kind
    )


def capture_view(capture: CaptureRecord) -> dict[str, Any]:
    found = publication_finding(page_verdict(capture))
    finding = None
    if found is not None:
        finding = {
            "code": found.code,
            "message_zh": found.message_zh,
            "message_en": found.message_en,
        }
    return {
        "destination": capture.destination,
        "version": capture.version,
        "url": capture.url,
        "status": capture.status,
        "captured_at": _iso(capture.captured_at),
        "http_status": capture.http_status,
        "text_matches": capture.text_matches,
        "attachments_match": capture.attachments_match,
        "warc_key": capture.warc_key,
        "warc_sha256": capture.warc_sha256,
        "last_checked_at": _iso(capture.last_checked_at),
        "checks": capture.checks,
        "verdict": capture.verdict,
        "rot_kind": capture.rot_kind,
        "finding": finding,
        "last_error": capture.last_error,
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _tag_manifest_problems(setup: ProofSetup, stamped_key: str) -> list[str]:
    """The tag files whose bytes are no longer what the tag manifest recorded."""
    prefix = stamped_key.rsplit("/", 1)[0] + "/"
    try:
        lines = setup.proofs.read(stamped_key).decode("utf-8").splitlines()
    except (ArchiveError, UnicodeDecodeError):
        return [stamped_key.removeprefix(prefix)]
    changed = []
    for line in lines:
        sha256, _, name = line.partition("  ")
        try:
            actual = hashlib.sha256(setup.proofs.read(prefix + name)).hexdigest()
        except ArchiveError:
            actual = ""
        if actual != sha256:
            changed.append(name)
    return changed


def verify_stamps(setup: ProofSetup, stamps: Sequence[TimestampRecord]) -> list[dict[str, Any]]:
    """Each stamp as `verify` reports it: its view, and for a package's tag manifest the
    tag files changed since it was stamped (then it does not verify)."""
    found = []
    for stamp in stamps:
        view = timestamp_view(setup, stamp, rehash=True)
        if stamp.stamped_key.endswith("/" + TAG_MANIFEST) and view["verified"]:
            view["changed"] = _tag_manifest_problems(setup, stamp.stamped_key)
            view["verified"] = not view["changed"]
            if view["changed"]:
                view["problem"] = _as_dict(TOKEN_PROBLEMS["timestamp_imprint_mismatch"])
        found.append(view)
    return found


def _as_dict(problem: TokenProblem) -> dict[str, str]:
    return {
        "code": problem.code,
        "message_zh": problem.message_zh,
        "message_en": problem.message_en,
    }

"""Checking a submission without storing anything: the one answer the API's submit and
validate routes and `disclosure validate` all give for the same file and metadata —
the document read (in the reading pool where the service has one), the category's
rules, the 保密审查 record and the personal-data scan where it goes to the portal, what
each routed destination can take, and the waivers an authorised principal may grant.

    checks = Checks(registry, routes, rules, reader, require_registered_body=False)
    check = check_submission(checks, metadata, upload, received_on=date(2024, 1, 12))
    check.valid, check.findings, check.title
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from service.categories import category_spec
from service.domain.access import Principal, Role
from service.domain.destinations import DestinationLimits, check_destination
from service.domain.errors import Rejected
from service.domain.filing import Category, Destination
from service.domain.findings import Finding, has_errors, warning
from service.domain.findings import error as error_finding
from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation, OrgRegistry
from service.reading.port import DocumentReader
from service.uploads import Upload
from service.validation import AppliedWaiver, ValidationRules, apply_waivers, validate_filing
from service.validation.formats.documents import Document

# Who may waive an error finding (豁免) with a written reason.
WAIVING_ROLES = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Checks:
    """What checking needs, built once by the composition root (or by the CLI)."""

    registry: OrgRegistry
    routes: Mapping[Category, Sequence[Destination]]
    rules: ValidationRules
    reader: DocumentReader
    require_registered_body: bool
    limits: Mapping[Destination, DestinationLimits]  # what each destination can take


@dataclass(frozen=True)
class Check:
    document: Document | None
    findings: list[Finding]
    title: str | None
    waivers: tuple[AppliedWaiver, ...] = ()  # the errors an authorised principal waived

    @property
    def valid(self) -> bool:
        return self.document is not None and not has_errors(self.findings)


def check_submission(
    checks: Checks,
    metadata: FilingMetadata,
    upload: Upload,
    *,
    received_on: date,
    principal: Principal | None = None,
    previous: FilingMetadata | None = None,
    review: bool = True,
) -> Check:
    """A filing bound for the portal needs its 保密审查 record (`review=False` skips it:
    the CLI's flags cannot carry one); the metadata's waivers are honoured only for a
    `principal` whose role may waive; `previous` is last period's filing of the body
    and kind, for the cross-year checks."""
    findings = _body_findings(checks, metadata) + _digest_findings(metadata, upload)
    spec = category_spec(metadata.category)
    owner = principal.name if principal else None
    document, read = checks.reader.read(
        upload.path, upload.filename, tables=spec.reads_tables, owner=owner
    )
    findings += read
    if document is None:
        return Check(None, findings, None)
    routes = checks.routes.get(metadata.category, ())
    public = Destination.PORTAL in routes
    result = validate_filing(
        document,
        metadata,
        checks.registry.get(metadata.org_code),
        content_rule=spec.content_rule,
        received_on=received_on,
        rules=checks.rules,
        previous=previous,
        require_review=public and review,
        public=public,
    )
    findings += result.findings
    for destination in routes:
        findings += check_destination(document.kind, upload.size, checks.limits[destination])
    findings, waivers = apply_waivers(
        findings,
        metadata.waivers,
        by=principal.name if principal else None,
        may_waive=principal is not None and principal.role in WAIVING_ROLES,
    )
    return Check(document, findings, result.title, tuple(waivers))


def _digest_findings(metadata: FilingMetadata, upload: Upload) -> list[Finding]:
    if metadata.file_sha256 is None or metadata.file_sha256 == upload.sha256:
        return []
    return [
        error_finding(
            "file_sha256_mismatch",
            f"文件的 SHA-256 为 {upload.sha256}，与元数据 file_sha256 不符：文件可能在传输中损坏，"
            "或发错了文件",
            f"The file's SHA-256 is {upload.sha256}, not the metadata's file_sha256: the file "
            "was damaged on the way, or it is the wrong file",
            where="file",
        )
    ]


def _body_findings(checks: Checks, metadata: FilingMetadata) -> list[Finding]:
    body = checks.registry.get(metadata.org_code)
    if body is not None:
        return _name_findings(body, metadata.org_name, error=checks.require_registered_body)
    if checks.require_registered_body:
        raise Rejected([_unregistered(metadata.org_code, error=True)])
    return [_unregistered(metadata.org_code, error=False)]


def _name_findings(body: Organisation, org_name: str, *, error: bool) -> list[Finding]:
    """The name a filing gives its body must be the registry's, or one of its aliases:
    an operator of one body may not file under another's name."""
    if _comparable(org_name) in {_comparable(name) for name in body.names}:
        return []
    make = error_finding if error else warning
    return [
        make(
            "org_name_mismatch",
            f"单位名称「{org_name}」与单位名录不符（名录：{'、'.join(body.names)}）"
            + ("" if error else "（开发模式下允许报送）"),
            f"org_name {org_name!r} is neither the registry's name nor an alias",
            where="metadata.org_name",
        )
    ]


def _comparable(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def _unregistered(org_code: str, *, error: bool) -> Finding:
    make = error_finding if error else warning
    return make(
        "org_not_registered",
        f"单位 {org_code} 不在单位名录中" + ("，不予受理" if error else "（开发模式下允许报送）"),
        f"Body {org_code} is not in the registry" + ("" if error else " (allowed in development)"),
        where="metadata.org_code",
    )

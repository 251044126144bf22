"""A version written behind the service's back is reported (issue 11). On a bucket with
versioning and Object Lock a plain PutObject over an archived key succeeds and becomes
what a plain GET serves; the service still reads the archived (oldest) version, so its
hashes match — and verify must say that the key was written over all the same."""

from __future__ import annotations

import pytest

from service.archive.packages import Packages
from service.catalog.records import FilingQuery
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.verification import verify_filing
from tests.fakes import MemoryCatalog
from tests.integration.conftest import S3Server
from tests.support.bodies import sample_metadata
from tests.support.checks import checks_for
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


@pytest.mark.parametrize("kind", ["versioned", "locked"])
def test_a_key_written_over_or_deleted_behind_the_services_back_fails_verify_and_is_audited(
    ceph_s3: S3Server, kind: str
) -> None:
    bucket = ceph_s3.new_bucket(kind)  # type: ignore[arg-type]
    clock = FakeClock()
    catalog = MemoryCatalog(clock=clock)
    packages = Packages(ceph_s3.store(bucket, "archive"), clock=clock)
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]}),
        clock=clock,
    )
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
    metadata = FilingMetadata.model_validate(sample_metadata())
    filing = submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing
    prefix = filing.versions[0].package_prefix

    [clean] = verify_filing(catalog, packages, filing.id, checked_by="op", now=clock())
    assert clean.ok and clean.report["foreign"] == []

    raw = ceph_s3.shared_client
    raw.put_object(Bucket=bucket, Key=f"archive/{prefix}data/report.docx", Body=b"tampered")
    raw.delete_object(Bucket=bucket, Key=f"archive/{prefix}bag-info.txt")  # a delete marker
    [found] = verify_filing(catalog, packages, filing.id, checked_by="op", now=clock())

    assert not found.ok
    assert found.report["mismatched"] == []  # what the service reads is still the original
    foreign = sorted(found.report["foreign"])
    assert [f.split(" at ")[0].rsplit(" ", 1)[0] for f in foreign] == [
        "bag-info.txt: delete marker",
        "data/report.docx: version",
    ]
    assert catalog.audit_events()[-1].action == "fixity.failed"
    assert catalog.audit_events()[-1].detail["foreign_versions"] == 2
    assert catalog.list_filings(FilingQuery())  # the filing itself is untouched

"""Tampering behind the service's back, through boto3 directly, on Ceph RGW and moto:
`Packages.verify` reports it and `open_payload` refuses to serve damaged bytes — or, on
a versioned bucket, the service goes on serving the original, which it always reads."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from botocore.exceptions import ClientError

from service.archive.fixity import Mismatch
from service.archive.packages import MANIFEST, Packages, PayloadFile, package_prefix
from service.domain.errors import FixityMismatch, ObjectMissing
from tests.support.s3 import BucketKind, S3Server

PREFIX = package_prefix("12120000MB1234567X", "rule_of_law_report", "2023", "F1", 1)
NAME = "南开区 2023年法治政府建设情况报告.pdf"
PAYLOAD = b"%PDF-1.7\n" + b"rule of law\n" * 1000
DATA = f"data/{NAME}"


class Bucket:
    """A package written by the service, and a raw client to damage it with."""

    def __init__(self, server: S3Server, kind: BucketKind) -> None:
        self.name = server.new_bucket(kind)
        self.raw = server.shared_client
        self.store = server.store(self.name, "archive")
        self.packages = Packages(self.store)
        self.packages.put_package(
            PREFIX,
            [PayloadFile(NAME, io.BytesIO(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest())],
            {"filing_id": "F1", "version": 1},
            {"Source-Organization": "天津市南开区合作交流办"},
        )
        with self.store.open(PREFIX + MANIFEST) as stream:
            self.manifest = stream.read()

    def key(self, rel: str) -> str:
        return f"archive/{PREFIX}{rel}"

    def put(self, rel: str, body: bytes) -> Any:
        return self.raw.put_object(Bucket=self.name, Key=self.key(rel), Body=body)

    def version_ids(self, rel: str) -> list[str]:
        listed = self.raw.list_object_versions(Bucket=self.name, Prefix=self.key(rel))
        return [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == self.key(rel)]

    def delete_version(self, rel: str, version_id: str) -> None:
        self.raw.delete_object(Bucket=self.name, Key=self.key(rel), VersionId=version_id)

    def verify(self) -> Any:
        return self.packages.verify(
            PREFIX, manifest_sha256=hashlib.sha256(self.manifest).hexdigest()
        )

    def read_payload(self) -> bytes:
        with self.packages.open_payload(PREFIX, NAME) as stream:
            return stream.read()


@pytest.fixture(params=["moto_s3", "ceph_s3"])
def server(request: pytest.FixtureRequest) -> S3Server:
    s3: S3Server = request.getfixturevalue(request.param)
    return s3


# -- an unversioned bucket: what is overwritten or deleted is gone, and reported ----------


def test_bytes_overwritten_are_reported_and_never_served(server: S3Server) -> None:
    bucket = Bucket(server, "plain")
    assert bucket.verify().ok

    bucket.put(DATA, PAYLOAD.replace(b"law", b"LAW"))

    report = bucket.verify()
    assert not report.ok
    assert [m.path for m in report.mismatched] == [DATA]
    with pytest.raises(FixityMismatch):
        bucket.read_payload()


def test_an_object_deleted_is_reported_missing_and_not_served(server: S3Server) -> None:
    bucket = Bucket(server, "plain")

    bucket.raw.delete_object(Bucket=bucket.name, Key=bucket.key(DATA))

    report = bucket.verify()
    assert report.missing == (DATA,)
    with pytest.raises(ObjectMissing):
        bucket.read_payload()


def test_a_manifest_edited_to_match_changed_bytes_is_caught_by_its_recorded_hash(
    server: S3Server,
) -> None:
    bucket = Bucket(server, "plain")
    forged = PAYLOAD + b"appended\n"
    forged_sha = hashlib.sha256(forged).hexdigest()
    original_sha = hashlib.sha256(PAYLOAD).hexdigest()

    bucket.put(MANIFEST, bucket.manifest.replace(original_sha.encode(), forged_sha.encode()))

    report = bucket.verify()
    assert (
        Mismatch(
            MANIFEST,
            hashlib.sha256(bucket.manifest).hexdigest(),
            hashlib.sha256(
                bucket.manifest.replace(original_sha.encode(), forged_sha.encode())
            ).hexdigest(),
        )
        in report.mismatched
    )
    assert DATA in [m.path for m in report.mismatched]  # the bytes no longer match it
    with pytest.raises(FixityMismatch):
        bucket.read_payload()


# -- a versioned bucket: the service reads the oldest version -----------------------------


def test_on_a_versioned_bucket_a_new_version_is_ignored_and_the_original_served(
    server: S3Server,
) -> None:
    bucket = Bucket(server, "versioned")

    bucket.put(DATA, b"replaced")
    bucket.put(MANIFEST, b"0" * 64 + b"  data/x\n")

    report = bucket.verify()
    assert report.mismatched == () and report.missing == ()  # the originals are intact
    assert sorted(f.split(": ")[0] for f in report.foreign) == sorted([DATA, MANIFEST])
    assert not report.ok  # and yet someone wrote over them: that is reported
    assert bucket.read_payload() == PAYLOAD
    assert len(bucket.store.versions(PREFIX + DATA)) == 2


def test_on_a_versioned_bucket_without_lock_a_deleted_original_version_is_reported(
    server: S3Server,
) -> None:
    bucket = Bucket(server, "versioned")
    original = bucket.version_ids(DATA)[-1]
    bucket.put(DATA, b"replaced")

    bucket.delete_version(DATA, original)

    assert [m.path for m in bucket.verify().mismatched] == [DATA]
    with pytest.raises(FixityMismatch):
        bucket.read_payload()


def test_on_an_object_lock_bucket_ceph_refuses_to_delete_the_original(ceph_s3: S3Server) -> None:
    bucket = Bucket(ceph_s3, "locked")
    original = bucket.version_ids(DATA)[-1]
    bucket.put(DATA, b"replaced")

    with pytest.raises(ClientError) as refused:
        bucket.delete_version(DATA, original)

    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    report = bucket.verify()
    assert report.mismatched == () and [f.split(": ")[0] for f in report.foreign] == [DATA]
    assert bucket.read_payload() == PAYLOAD

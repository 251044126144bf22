"""S3 servers for tests (Ceph RGW, moto), fresh buckets on them, and stores on those.

server.new_bucket("plain" | "versioned" | "locked")   # a new, uniquely named bucket
server.store(bucket, prefix="archive", part_size=...)  # an S3Store on it
server.client()                                        # raw boto3, to tamper with
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from service.archive.s3 import S3Config, S3Store, make_client

BucketKind = Literal["plain", "versioned", "locked"]


@dataclass(frozen=True)
class S3Server:
    name: str
    endpoint_url: str
    access_key: str
    secret_key: str
    daemons: Mapping[str, int] = field(default_factory=dict)  # name → pid, where known

    def config(self, **overrides: Any) -> S3Config:
        return S3Config(endpoint_url=self.endpoint_url, **overrides)

    def client(self, **overrides: Any) -> Any:
        return make_client(
            self.config(**overrides), access_key=self.access_key, secret_key=self.secret_key
        )

    def new_bucket(self, kind: BucketKind = "plain") -> str:
        bucket = f"t-{kind}-{secrets.token_hex(6)}"
        client = self.shared_client
        client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=kind == "locked")
        if kind == "versioned":
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        return bucket

    @cached_property
    def shared_client(self) -> Any:
        """One client for every store with the default timeouts (a client takes ~0.1 s
        to build; boto3 clients are thread-safe)."""
        return self.client()

    def store(self, bucket: str, prefix: str = "", **overrides: Any) -> S3Store:
        config = self.config(**overrides)
        reach = {"connect_timeout_s", "read_timeout_s", "max_attempts", "retry_mode"}
        client = self.client(**overrides) if reach & overrides.keys() else self.shared_client
        return S3Store(bucket, prefix, config, client=client)

"""How to reach the bucket, and the small facts of the S3 protocol the store relies on."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from service.archive.port import check_key
from service.archive.retention import RetentionPolicy

MiB = 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 * MiB  # S3's limit for one PUT
MIN_PART = 5 * MiB  # S3's smallest part (all but the last)
MAX_PARTS = 10_000  # S3's most parts in one upload
SHA256_META = "sha256"
WRITE_ID_META = "write-id"
NAME_META = "name"


@dataclass(frozen=True)
class S3Config:
    """How to reach the bucket; built from settings by the composition root.

    Credentials are not here: boto3 finds them the standard way (AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, instance roles)."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 30.0
    max_attempts: int = 3  # in all, the first included
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    multipart_threshold: int = 64 * MiB
    part_size: int = 16 * MiB
    multipart_concurrency: int = 4
    spool_dir: Path | None = None
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)

    def __post_init__(self) -> None:
        if not MIN_PART <= self.part_size <= MAX_SINGLE_PUT:
            raise ValueError(f"S3 part size must be 5 MiB to 5 GiB, not {self.part_size}")
        if self.multipart_concurrency < 1 or self.max_attempts < 1:
            raise ValueError("multipart concurrency and max attempts must be 1 or more")

    @property
    def pool_size(self) -> int:
        """Connections, and the staged uploads' shared threads."""
        return max(10, 2 * self.multipart_concurrency)


def make_client(
    config: S3Config, *, access_key: str | None = None, secret_key: str | None = None
) -> Any:
    """A boto3 S3 client with explicit timeouts, retries and addressing. Credentials
    come from boto3's standard chain unless given (tests and the bench give them).

    Checksums only "when required": RGW 16 does not understand the trailing
    `x-amz-checksum-*` that newer SDKs add by default; Content-MD5 does the job."""
    botocore_config = Config(
        region_name=config.region,
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        retries={"total_max_attempts": config.max_attempts, "mode": config.retry_mode},
        s3={"addressing_style": config.addressing_style},
        max_pool_connections=config.pool_size,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=config.endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=botocore_config,
    )


@dataclass(frozen=True)
class Version:
    """One version of a key, as `ListObjectVersions` lists it (newest first)."""

    version_id: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class BucketMode:
    versioning: str | None  # None (never enabled), "Enabled" or "Suspended"
    object_lock: bool

    @property
    def versioned(self) -> bool:
        return self.versioning is not None


def version_id(response: Mapping[str, Any]) -> str | None:
    found = response.get("VersionId")
    return str(found) if found and found != "null" else None


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def status(exc: ClientError) -> int | None:
    found = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(found) if found is not None else None


def code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def is_valid(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return False
    return True

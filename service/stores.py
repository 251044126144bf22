"""The composition root's part for the archive (service.bootstrap imports it): the store a
DISCLOSURE_ARCHIVE_URL names, on the filesystem or in S3.

    store = build_store("file:///var/lib/disclosure/archive", settings)
    store = build_store("s3://bucket/prefix", settings)   # reached as settings.s3_* say
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from service.archive.filesystem import FilesystemStore
from service.archive.port import ArchiveStore
from service.archive.retention import RetentionPolicy
from service.configured import ConfigurationError
from service.settings import Settings

if TYPE_CHECKING:
    from service.archive.s3 import S3Config


def build_store(archive_url: str, settings: Settings) -> ArchiveStore:
    """`file:///PATH` or `s3://BUCKET/PREFIX` (reached as `settings` say)."""
    parsed = urlparse(archive_url)
    if parsed.scheme == "file":
        root = Path(unquote(parsed.path))
        root.mkdir(parents=True, exist_ok=True)
        return FilesystemStore(root)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ConfigurationError(f"DISCLOSURE_ARCHIVE_URL names no bucket: {archive_url!r}")
        # Imported here: boto3 takes ~0.3 s to import, which only an S3 archive should pay.
        from service.archive.s3 import S3Store

        config = s3_config(settings)
        return S3Store(parsed.netloc, unquote(parsed.path).strip("/"), config)
    raise ConfigurationError(f"unsupported DISCLOSURE_ARCHIVE_URL scheme: {parsed.scheme!r}")


def s3_config(settings: Settings) -> S3Config:
    from service.archive.s3 import S3Config

    retention = RetentionPolicy.of(
        settings.retention,
        default=settings.retention_default,
        mode=settings.s3_object_lock_mode,
        permanent_years=settings.s3_permanent_retention_years,
    )
    return S3Config(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        addressing_style=settings.s3_addressing_style,
        connect_timeout_s=settings.s3_connect_timeout_s,
        read_timeout_s=settings.s3_read_timeout_s,
        max_attempts=settings.s3_max_attempts,
        retry_mode=settings.s3_retry_mode,
        multipart_threshold=settings.s3_multipart_threshold_bytes,
        part_size=settings.s3_multipart_part_bytes,
        multipart_concurrency=settings.s3_multipart_concurrency,
        spool_dir=settings.s3_spool_dir,
        retention=retention,
    )

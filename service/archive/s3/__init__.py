"""`S3Store`: the write-once `ArchiveStore` on any S3-compatible bucket (Ceph RGW, MinIO,
a cloud OSS, AWS). The only package that imports boto3/botocore (an import-linter
contract); every SDK error is translated here into ours:

    412 PreconditionFailed                   -> AlreadyExists
    404 on a read                            -> ObjectMissing (open) / None (stat)
    connection errors, timeouts, 5xx after
    the SDK's retries, 403, NoSuchBucket,
    a lock the server did not keep           -> ArchiveUnavailable (the API answers 503)
    errors raised by the source stream       -> passed through untouched

Writing (`put_new`):

1. *Refuse early.* A key that already holds an object is refused before a byte of the
   source is read (a HEAD, or the key's versions on a versioned bucket).
2. *Hash, then send.* The source is read once in 1 MiB chunks and hashed (SHA-256, and
   MD5 when it will go in one PUT) where it is if it is a regular file or a small
   BytesIO, else while it is copied into an unnamed temp file (`spool_dir`). Nothing is
   held whole in memory; the upload reads the file by ranges (`os.pread`), so parts
   go in parallel (each part's MD5 computed by the thread that sends it) and the SDK
   can rewind a body to retry it. Our SHA-256 goes into the object's metadata
   (`x-amz-meta-sha256`): a multipart ETag is a composite, not the file's hash, and
   RGW ignores `x-amz-checksum-*`. `Content-MD5` goes with every PUT (the one
   server-side check RGW and AWS both honour) and with every part unless the payload
   is signed (plain http: SigV4 then carries each body's SHA-256, which the server
   checks). Metadata is ASCII, so the file name is
   percent-encoded there and in `Content-Disposition` (RFC 5987).
3. *Write once* — never trusting the server to refuse a second write:

   - unversioned bucket: a HEAD first (an early refusal that holds even on a server
     that ignores conditions), then a single `PUT` with `If-None-Match: *` (412 →
     `AlreadyExists`), then a HEAD to check that the object holding the key carries
     this write's id. Multipart is used only above 5 GiB here, because RGW 16
     ignores `If-None-Match` on `CompleteMultipartUpload` (measured): a single
     conditional PUT is the one atomic create-if-absent it honours.
   - versioned bucket (Object Lock implies versioning): **the oldest version wins.**
     RGW 16 ignores `If-None-Match` on versioned buckets and writes a new version,
     so after the PUT (or multipart upload) the store lists the key's versions
     (`ListObjectVersions`, the key as prefix; servers list them newest first) and
     the write succeeds only if the oldest is its own; otherwise `AlreadyExists`.
     The losing version stays (the service never deletes; under Object Lock it
     could not), hidden: every read (`open`, `stat`) reads the oldest version by
     its `VersionId`, and `list` lists keys that have a version, so a later version
     or a delete marker put behind the service's back changes nothing it serves.
     `versions(key)` shows them, for audits.
   - versioning suspended: writes are refused (`ArchiveUnavailable`), since a
     second write would replace the "null" version.

4. *Lock.* When the bucket has Object Lock, each object gets the retention of its
   category (`retention.RetentionPolicy`): in the PUT's headers, and — because RGW 16
   and moto drop them on multipart uploads — set again with PutObjectRetention /
   PutObjectLegalHold after a multipart upload. The lock is read back (HEAD); one the
   server did not keep (e.g. RGW wraps a date after 2106 into the past) fails the put.

Staging (`stage`): a file, complete or still arriving, goes up as a multipart upload
in the background (`staged.StagedUpload`) and is completed at `commit` under steps 3 and 4;
see `stage` for where it does not.

A put that fails leaves no object under the key (an unfinished multipart upload is
aborted). What no client can close: on an *unversioned* bucket whose server ignores
`If-None-Match` (or for a >5 GiB multipart upload there on RGW), two writers racing
past the first HEAD can both write, and the later silently replaces the earlier, which
may already have been told it succeeded; the HEAD after the write narrows this, no
more. Hence production buckets have versioning and Object Lock, where the oldest
version decides and nothing is replaced.

    config.py    S3Config, the client, the small facts of the S3 protocol
    bodies.py    the hashed body of one put, readable by byte range
    bucket.py    `Bucket`: the requests, write-once (steps 1, 3, 4) and the translation
    staged.py    staged writes: a multipart upload sent while its file still arrives
    store.py     `S3Store`, the `ArchiveStore` on top
"""

from service.archive.s3.config import S3Config, Version, make_client
from service.archive.s3.store import S3Store

__all__ = ["S3Config", "S3Store", "Version", "make_client"]

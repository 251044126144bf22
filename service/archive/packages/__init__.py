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

    names.py   manifests.py   store.py (`Packages`)   audit.py   export.py

"""

from service.archive.packages.manifests import manifest_text, parse_manifest
from service.archive.packages.names import (
    MANIFEST,
    METADATA,
    PackageId,
    package_prefix,
    package_prefix_of,
    payload_name,
)
from service.archive.packages.store import PackageRef, Packages, PayloadFile

__all__ = [
    "MANIFEST",
    "METADATA",
    "PackageId",
    "PackageRef",
    "Packages",
    "PayloadFile",
    "manifest_text",
    "package_prefix",
    "package_prefix_of",
    "parse_manifest",
    "payload_name",
]

"""Disaster recovery (DESIGN.md invariants 2 and 8): comparing the archive with the
catalog, and recreating the catalog from the archive alone.

    reconcile(restore, packages, now=…)              what disagrees; changes nothing
    rebuild_catalog(restore, store, packages, now=…)  an EMPTY catalog filled from the archive

What a rebuild restores, and from where:

    filing     id, body, kind and period from the package prefix; name, created_at and
               created_by from its lowest version's metadata.json (`submitted.org_name`,
               `archived_at`, `archived_by`); latest_version: its highest version
    version    metadata.json: supersedes, title, file, findings, `submitted` (the metadata,
               review and waivers included), publish_at; manifest_sha256 from the store;
               published when every delivery has a receipt (or was replaced by one that
               has), or it has none; else archived
    delivery   one per metadata.json `destinations`, with the same idempotency key:
               delivered with the destination's receipt from `receipts/` (and its final
               review outcome, a receipt of kind `review`), else pending — failed and
               superseded ones too — due at once (or at publish_at): the key makes a
               repeat harmless at the destination. Where a person decided to replace
               the report a destination held (`decisions/replace_{destination}-….json`):
               that one superseded, with the destination's report, beside a replace
               delivery (its own key), delivered with `receipts/{destination}_replace-…`
               or pending
    audit log  every `audit/YYYY/MM/DD.jsonl`, in order, then one `catalog.rebuilt` event
    exemption  every `decisions/exemptions/{period}/{org_code}/{category}.json` (免报)
    not at all attempt logs, adapter state, reviews still in progress, fixity checks,
               ingest idempotency keys: operational data

Two rules keep a rebuilt catalog safe to run a worker on:

- A package that cannot be restored (incomplete: no manifest; or damaged) of a filing
  that is restored comes back as an `abandoned` placeholder row, so its version number
  stays taken: a new correction never lands in a prefix that already holds objects.
- Ingest refuses a second live version with the same bytes for one body, kind and
  period. Two complete packages that share them therefore mean one was never
  acknowledged (archived, but the client got an error — the store's answer lost, or
  the catalog commit failed — and sent the file again): of those, the ones delivered,
  else the last archived, are kept; the others come back `abandoned`, never to be sent.

    reconcile.py   rebuild.py (reading packages: restored.py)
"""

from __future__ import annotations

from service.usecases.recovery.rebuild import SkipKind, rebuild_catalog
from service.usecases.recovery.reconcile import ProblemKind, reconcile

__all__ = ["ProblemKind", "SkipKind", "rebuild_catalog", "reconcile"]

"""The catalog's contract for captures, on SQLite, PostgreSQL and in memory: queued once
per delivered publication that reported a URL, claimed under a lease, settled with what
the visit found (its archived objects added up, audited, notified), restored as the
archive shows it."""

from __future__ import annotations

from datetime import timedelta

from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, CaptureJob, CaptureResult
from service.domain.filing import DeliveryStatus
from tests.integration.test_catalog import _attempt, _submit, _token
from tests.integration.test_catalog import catalog as contract_catalog
from tests.support.clock import FakeClock

catalog = contract_catalog  # the contract suite's fixture: SQLite, PostgreSQL, memory

LEASE = timedelta(seconds=60)
URL = "http://127.0.0.1:8001/fzzfjs/art_1.html"


def _delivered(catalog: Catalog, receipt: dict[str, str]) -> str:
    fid, _ = _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert catalog.finish_attempt(
        delivery.id, _token(delivery), _attempt(), status=DeliveryStatus.DELIVERED,
        next_attempt_at=None, receipt=receipt,
    )  # fmt: skip
    return fid


def _event() -> AuditEvent:
    return AuditEvent(actor="w1", role="system", action="capture.captured", subject="s")


def test_a_delivered_publication_with_a_url_is_queued_for_capture_once(catalog: Catalog) -> None:
    fid = _delivered(catalog, {"article_id": "art_1", "url": URL})

    assert catalog.enqueue_captures({"portal"}, 10) == 1
    assert catalog.enqueue_captures({"portal"}, 10) == 0
    [capture] = catalog.captures(fid)
    assert (capture.url, capture.status, capture.checks) == (URL, "pending", 0)


def test_a_listing_page_s_captures_are_read_at_once_by_filing(catalog: Catalog) -> None:
    fid = _delivered(catalog, {"article_id": "art_1", "url": URL})
    other, _ = _submit(catalog)
    catalog.enqueue_captures({"portal"}, 10)

    found = catalog.captures_of([fid, other, "fil_unknown"])

    assert list(found) == [fid]  # a filing with none is absent
    assert [c.url for c in found[fid]] == [URL] and found[fid] == catalog.captures(fid)
    assert catalog.captures_of([]) == {}


def test_receipts_without_a_url_do_not_hold_up_the_queue(catalog: Catalog) -> None:
    for _ in range(3):
        _delivered(catalog, {"article_id": "art_x"})  # no public URL (yet)
    fid = _delivered(catalog, {"article_id": "art_1", "url": URL})

    assert catalog.enqueue_captures({"portal"}, 2) == 1

    assert [c.url for c in catalog.captures(fid)] == [URL]


def test_a_publication_delivered_after_a_scan_is_queued_by_the_next(
    catalog: Catalog, clock: FakeClock
) -> None:
    first = _delivered(catalog, {"article_id": "art_1", "url": URL})
    assert catalog.enqueue_captures({"portal"}, 10) == 1
    assert catalog.enqueue_captures({"portal"}, 10) == 0
    clock.advance(3 * 86400)

    later = _delivered(catalog, {"article_id": "art_2", "url": URL + "?2"})

    assert catalog.enqueue_captures({"portal"}, 10) == 1
    assert [len(catalog.captures(f)) for f in (first, later)] == [1, 1]


def test_a_publication_that_arrives_with_an_old_delivery_time_is_queued_by_a_full_scan(
    catalog: Catalog, clock: FakeClock
) -> None:
    """Restored by rebuild-catalog while a process runs, or delivered under a clock set a
    day wrong: older than an incremental scan reads, caught by the periodic whole one."""
    assert catalog.enqueue_captures({"portal"}, 10) == 0  # a first, whole scan
    clock.advance(-86400)
    late = _delivered(catalog, {"article_id": "art_1", "url": URL})
    clock.advance(86400 + 60)

    queued = [catalog.enqueue_captures({"portal"}, 10)]
    clock.advance(6 * 3600)
    queued.append(catalog.enqueue_captures({"portal"}, 10))

    assert sum(queued) == 1 and [c.url for c in catalog.captures(late)] == [URL]


def test_a_receipt_without_a_url_or_another_destination_is_not_queued(catalog: Catalog) -> None:
    _delivered(catalog, {"article_id": "art_1"})

    assert catalog.enqueue_captures({"portal"}, 10) == 0
    assert catalog.enqueue_captures({"legal_platform"}, 10) == 0


def test_a_claimed_capture_is_leased_and_settles_with_what_was_found(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid = _delivered(catalog, {"article_id": "art_1", "url": URL})
    catalog.enqueue_captures({"portal"}, 10)
    [claimed] = catalog.claim_due_captures("w1", 10, LEASE)
    assert catalog.claim_due_captures("w2", 10, LEASE) == []
    assert claimed.lease_owner is not None
    result = CaptureResult(
        "captured", clock() + timedelta(days=1), captured_at=clock(), http_status=200,
        text_matches=True, attachments_match=False, warc_key="k.warc.gz", warc_sha256="ab" * 32,
        etag='"e"', last_checked_at=clock(), checks=0, verdict="drift",
        objects={"k.warc.gz": "ab" * 32, "k.json": "cd" * 32},
    )  # fmt: skip

    assert catalog.settle_capture(claimed.id, claimed.lease_owner, result, [_event()])
    assert not catalog.settle_capture(claimed.id, claimed.lease_owner, result, [_event()])
    [capture] = catalog.captures(fid)
    assert (capture.status, capture.verdict, capture.attempts) == ("captured", "drift", 1)
    assert capture.text_matches is True and capture.attachments_match is False
    assert capture.objects == {"k.warc.gz": "ab" * 32, "k.json": "cd" * 32}
    assert catalog.claim_due_captures("w1", 10, LEASE) == []  # the re-check is not due yet
    clock.advance(86400)
    [again] = catalog.claim_due_captures("w1", 10, LEASE)
    assert again.id == capture.id


def test_a_capture_is_restored_as_the_archive_shows_it(catalog: Catalog, clock: FakeClock) -> None:
    fid = _delivered(catalog, {"article_id": "art_1", "url": URL})
    [delivery] = catalog.get_filing(fid).deliveries  # type: ignore[union-attr]
    job = CaptureJob(fid, 1, "portal", delivery.id, URL)

    catalog.restore_capture(job, CaptureResult("captured", verdict="link_rot", checks=2,
                                               objects={"a": "1" * 64}))  # fmt: skip

    [capture] = catalog.captures(fid)
    assert (capture.verdict, capture.checks, capture.objects) == ("link_rot", 2, {"a": "1" * 64})

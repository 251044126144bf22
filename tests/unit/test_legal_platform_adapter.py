"""The legal-platform adapter at its HTTP edge (respx): every row of
contracts/legal-platform.md's code table, the request signature (checked against a
computation written here by hand), the clock correction, the version chain and the
request_id that keeps a lost answer from filing twice."""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import pytest
import respx
import structlog

from service.delivery.legal_platform import (
    AppCredentials,
    LegalPlatformAdapter,
    LegalPlatformConfig,
    ReviewStatus,
    ReviewUnavailable,
    UnknownReceipt,
    build_multipart,
    request_id_for,
    signature,
)
from service.delivery.port import (
    ArchivedFile,
    Delivered,
    DeliveryJob,
    Failed,
    Outcome,
    RetryLater,
)
from tests.fakes import RecordingJournal, Sleeps

BASE = "https://legal.test"
REPORTS = "/openapi/v1/reports"
APP_KEY, SECRET = "body-key", "app-secret-never-logged"
ORG = "11120104MB1234567N"
OTHER_ORG = "12120104MA0000001W"
PDF = b"%PDF-1.7\n" + b"x" * 1000
PDF_SHA = hashlib.sha256(PDF).hexdigest()
PDF_NAME = "南开区合作交流办党组2023年度法治政府建设情况报告.pdf"
KEY = "fil_20261126a1b2c3d4e5f6-v1-legal_platform"
WALL = 1_700_000_000.0  # the adapter's own clock, seconds
RECEIVED = {
    "receipt_no": "TJFG-2024-000123",
    "received_at": "2024-01-12T10:03:11+08:00",
    "status": "RECEIVED",
}


# -- fakes ------------------------------------------------------------------------------------


def make_job(
    *,
    data: bytes = PDF,
    kind: str = "pdf",
    size: int | None = None,
    org_code: str = ORG,
    replaces: Mapping[str, Any] | None = None,
    state: Mapping[str, Any] | None = None,
    idempotency_key: str = KEY,
    title: str = "南开区合作交流办党组2023年度法治政府建设情况报告",
) -> DeliveryJob:
    file = ArchivedFile(
        filename=PDF_NAME if kind == "pdf" else f"report.{kind}",
        kind=kind,
        media_type="application/pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data) if size is None else size,
        open=lambda: io.BytesIO(data),
    )
    return DeliveryJob(
        delivery_id="dlv_1",
        idempotency_key=idempotency_key,
        source_id="fil_1/v1",
        filing_id="fil_1",
        version=1,
        category="rule_of_law_report",
        org_code=org_code,
        org_name="天津市南开区合作交流办公室",
        period="2023",
        title=title,
        publish_at=None,
        paragraphs=(),
        file=file,
        replaces=replaces,
        state=state or {},
    )


def make_adapter(
    sleep: Callable[[float], None] | None = None,
    wall: Callable[[], float] = lambda: WALL,
    base_url: str = BASE,
    **config: Any,
) -> LegalPlatformAdapter:
    settings: dict[str, Any] = {
        "quick_tries": 3,
        "backoff_initial_s": 0.001,
        "backoff_max_s": 0.004,
        **config,
    }
    return LegalPlatformAdapter(
        LegalPlatformConfig(base_url, APP_KEY, SECRET, **settings),
        client=httpx.Client(),
        sleep=sleep or Sleeps(),
        wall=wall,
    )


def answer(code: int, message: str = "", data: Mapping[str, Any] | None = None) -> httpx.Response:
    return httpx.Response(200, json={"code": code, "message": message, "data": data})


def ok(**data: Any) -> httpx.Response:
    return answer(0, "成功", {**RECEIVED, **data})


def deliver(
    adapter: LegalPlatformAdapter, job: DeliveryJob | None = None
) -> tuple[Outcome, RecordingJournal]:
    journal = RecordingJournal()
    return adapter.deliver(job or make_job(), journal), journal


def form_of(request: httpx.Request) -> dict[str, bytes]:
    """The multipart body's parts by name, split by hand at the boundary the header names."""
    boundary = request.headers["Content-Type"].split("boundary=", 1)[1].encode()
    chunks = request.content.split(b"--" + boundary)
    assert chunks[0] == b"" and chunks[-1] == b"--\r\n"
    parts = {}
    for chunk in chunks[1:-1]:
        assert chunk.startswith(b"\r\n") and chunk.endswith(b"\r\n")
        head, _, value = chunk[2:-2].partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        assert name is not None
        parts[name.group(1).decode()] = value
        filename = re.search(rb'filename="([^"]*)"', head)
        if filename:
            parts["file.filename"] = filename.group(1)
    return parts


def sign_by_hand(request: httpx.Request, path: str, secret: str = SECRET) -> str:
    body_hash = hashlib.sha256(request.content).hexdigest()
    lines = [request.method, path, request.headers["X-Timestamp"], request.headers["X-Nonce"]]
    message = "\n".join([*lines, body_hash]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@pytest.fixture
def platform() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


# -- success and the request --------------------------------------------------------------


def test_a_filed_report_gives_a_full_receipt(platform: respx.MockRouter) -> None:
    platform.post(REPORTS).mock(return_value=ok())

    outcome, _ = deliver(make_adapter())

    assert outcome == Delivered(
        {**RECEIVED, "platform_version": 1, "file_sha256": PDF_SHA, "request_id": KEY}, 200
    )


def test_the_form_carries_the_report_and_its_file(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())

    deliver(make_adapter())

    form = form_of(route.calls.last.request)
    assert {k: v.decode() for k, v in form.items() if k not in ("file", "file.filename")} == {
        "request_id": KEY,
        "org_code": ORG,
        "org_name": "天津市南开区合作交流办公室",
        "report_year": "2023",
        "report_type": "FZZFJS_ANNUAL",
        "title": "南开区合作交流办党组2023年度法治政府建设情况报告",
        "file_sha256": PDF_SHA,
        "version": "1",
    }
    assert form["file"] == PDF
    assert form["file.filename"] == PDF_NAME.encode()


def test_the_signature_is_hmac_sha256_over_method_path_timestamp_nonce_and_body_hash(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())

    deliver(make_adapter())

    request = route.calls.last.request
    assert request.headers["X-App-Key"] == APP_KEY
    assert request.headers["X-Timestamp"] == "1700000000000"  # milliseconds
    assert re.fullmatch(r"[A-Za-z0-9]{16,64}", request.headers["X-Nonce"])
    assert request.headers["X-Signature"] == sign_by_hand(request, REPORTS)


def test_the_signature_matches_a_computation_over_a_known_body() -> None:
    body = b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n'
    by_hand = hmac.new(
        b"s3cret",
        b"POST\n/gw/openapi/v1/reports\n1700000000000\nabcdefABCDEF0123\n"
        + hashlib.sha256(body).hexdigest().encode(),
        hashlib.sha256,
    ).hexdigest()

    assert (
        signature(
            "s3cret", "post", "/gw/openapi/v1/reports", "1700000000000", "abcdefABCDEF0123", body
        )
        == by_hand
    )


def test_the_signed_path_includes_the_base_urls_prefix() -> None:
    with respx.mock(base_url=f"{BASE}/gw") as gateway:
        route = gateway.post(REPORTS).mock(return_value=ok())

        outcome, _ = deliver(make_adapter(base_url=f"{BASE}/gw/"))

    request = route.calls.last.request
    assert isinstance(outcome, Delivered)
    assert request.url.path == "/gw/openapi/v1/reports"
    assert request.headers["X-Signature"] == sign_by_hand(request, "/gw/openapi/v1/reports")
    assert request.headers["X-Signature"] != sign_by_hand(request, REPORTS)


def test_each_try_gets_a_fresh_nonce_and_timestamp_over_the_same_bytes(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [httpx.Response(502), httpx.Response(503), ok()]
    now = iter([WALL, WALL + 1.5, WALL + 3.0])

    outcome, _ = deliver(make_adapter(wall=lambda: next(now)))

    assert isinstance(outcome, Delivered)
    requests = [call.request for call in route.calls]
    assert len({r.headers["X-Nonce"] for r in requests}) == 3
    assert [r.headers["X-Timestamp"] for r in requests] == [
        "1700000000000",
        "1700000001500",
        "1700000003000",
    ]
    assert len({r.content for r in requests}) == 1
    assert all(r.headers["X-Signature"] == sign_by_hand(r, REPORTS) for r in requests)


def test_each_body_signs_with_its_own_credentials(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())
    district = AppCredentials("district-key", "district-secret")
    adapter = make_adapter(body_credentials={OTHER_ORG: district})

    deliver(adapter, make_job(org_code=OTHER_ORG))
    deliver(adapter, make_job(org_code=ORG))

    own, default = (call.request for call in route.calls)
    assert own.headers["X-App-Key"] == "district-key"
    assert own.headers["X-Signature"] == sign_by_hand(own, REPORTS, "district-secret")
    assert default.headers["X-App-Key"] == APP_KEY
    assert default.headers["X-Signature"] == sign_by_hand(default, REPORTS)


def test_a_report_without_a_title_goes_under_its_file_name(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())

    deliver(make_adapter(), make_job(title=""))

    assert form_of(route.calls.last.request)["title"].decode() == PDF_NAME.removesuffix(".pdf")


# -- request_id and version ---------------------------------------------------------------


def test_request_id_is_the_idempotency_key_which_stays_under_64_chars() -> None:
    realistic = "fil_20261126a1b2c3d4e5f6-v999-legal_platform"

    assert request_id_for(realistic) == realistic
    assert len(realistic) <= 64


def test_a_key_over_64_chars_becomes_a_stable_64_char_request_id() -> None:
    long_key = "fil_" + "x" * 80 + "-v1-legal_platform"

    request_id = request_id_for(long_key)

    assert len(request_id) == 64
    assert request_id == request_id_for(long_key)
    assert request_id != request_id_for(long_key.replace("v1", "v2"))


def test_request_id_and_version_are_journaled_before_the_first_post(
    platform: respx.MockRouter,
) -> None:
    journal = RecordingJournal()
    saves_seen_by_post: list[int] = []

    def file(request: httpx.Request) -> httpx.Response:
        saves_seen_by_post.append(len(journal.saves))
        return ok()

    platform.post(REPORTS).mock(side_effect=file)

    make_adapter().deliver(make_job(), journal)

    assert journal.saves == [{"request_id": KEY, "platform_version": 1}]
    assert saves_seen_by_post == [1]


def test_request_id_and_version_stay_the_same_on_a_later_attempt(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [httpx.ConnectError("refused"), ok()]

    first, journal = deliver(make_adapter(quick_tries=1))
    # Whatever the catalog says by the next attempt, the journaled values go again.
    later = make_job(
        state=journal.state, replaces={"platform_version": 7}, idempotency_key="changed"
    )
    second, _ = deliver(make_adapter(), later)

    assert isinstance(first, RetryLater)
    assert isinstance(second, Delivered)
    forms = [form_of(call.request) for call in route.calls]
    assert {f["request_id"] for f in forms} == {KEY.encode()}
    assert {f["version"] for f in forms} == {b"1"}


def test_a_later_attempt_rebuilds_the_very_same_bytes(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [httpx.Response(503), ok()]

    first, journal = deliver(make_adapter(quick_tries=1))
    deliver(make_adapter(), make_job(state=journal.state))

    assert isinstance(first, RetryLater)
    bodies = {call.request.content for call in route.calls}
    assert len(bodies) == 1


def test_a_boundary_found_in_the_file_is_replaced() -> None:
    boundary = "disclosure-0123"
    data = b"%PDF " + boundary.encode()

    body, content_type = build_multipart([("a", "1")], ("a.pdf", "application/pdf", data), boundary)

    used = content_type.split("boundary=", 1)[1]
    assert used != boundary
    assert body.count(used.encode()) == 3  # two parts and the closing line


def test_a_correction_goes_as_the_replaced_platform_version_plus_one(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS).mock(return_value=ok(receipt_no="TJFG-2024-000200"))
    replaces = {"receipt_no": "TJFG-2024-000123", "platform_version": 1}

    outcome, journal = deliver(make_adapter(), make_job(replaces=replaces))

    assert form_of(route.calls.last.request)["version"] == b"2"
    assert isinstance(outcome, Delivered)
    assert outcome.receipt["platform_version"] == 2
    assert journal.state["platform_version"] == 2


def test_a_replaced_receipt_without_platform_version_fails(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())

    outcome, _ = deliver(make_adapter(), make_job(replaces={"receipt_no": "TJFG-2024-000123"}))

    assert isinstance(outcome, Failed)
    assert outcome.code == "replaces_without_platform_version"
    assert not route.called


# -- the code table, row by row -----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [(40001, "invalid_parameter"), (40003, "file_not_accepted")],
)
def test_a_wrong_request_fails_permanently(
    platform: respx.MockRouter, code: int, name: str
) -> None:
    route = platform.post(REPORTS).mock(return_value=answer(code, "file_sha256 与文件不符"))

    outcome, _ = deliver(make_adapter())

    assert outcome == Failed(name, f"{code}: file_sha256 与文件不符", 200)
    assert route.call_count == 1


@pytest.mark.parametrize(("code", "name"), [(40101, "unauthorized"), (40301, "org_not_allowed")])
def test_a_refused_key_fails_as_a_configuration_error(
    platform: respx.MockRouter, code: int, name: str
) -> None:
    route = platform.post(REPORTS).mock(return_value=answer(code, "refused"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert outcome.code == name
    assert outcome.message.startswith("configuration")
    assert route.call_count == 1


def test_40102_corrects_the_clock_and_resends_at_once(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS)
    server_time = 1_700_000_900_000  # the platform runs 900 s ahead
    route.side_effect = [answer(40102, "timestamp", {"server_time": server_time}), ok(), ok()]
    sleeps = Sleeps()
    adapter = make_adapter(sleeps)

    outcome, _ = deliver(adapter)
    deliver(adapter)  # a later request uses the learnt offset from the start

    assert isinstance(outcome, Delivered)
    assert sleeps.waits == []
    first, resent, later = (call.request for call in route.calls)
    assert first.headers["X-Timestamp"] == "1700000000000"
    assert resent.headers["X-Timestamp"] == later.headers["X-Timestamp"] == str(server_time)
    assert resent.headers["X-Nonce"] != first.headers["X-Nonce"]
    assert resent.content == first.content
    assert resent.headers["X-Signature"] == sign_by_hand(resent, REPORTS)


def test_40102_again_after_three_corrections_is_transient(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(
        return_value=answer(40102, "nonce", {"server_time": 1_700_000_000_000})
    )
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps, quick_tries=1))

    assert isinstance(outcome, RetryLater)
    assert outcome.code == "clock_or_nonce_rejected"
    assert route.call_count == 1 + 3
    assert sleeps.waits == []
    assert len({call.request.headers["X-Nonce"] for call in route.calls}) == 4


def test_40102_over_and_over_backs_off_between_tries(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(return_value=answer(40102, "nonce"))
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps, quick_tries=3, clock_retries=1))

    assert isinstance(outcome, RetryLater)
    assert route.call_count == 3 * 2
    assert len(sleeps.waits) == 2


def test_40901_with_our_file_is_delivered_with_the_existing_receipt(
    platform: respx.MockRouter,
) -> None:
    existing = {"receipt_no": "TJFG-2024-000007", "file_sha256": PDF_SHA, "version": 1}
    platform.post(REPORTS).mock(return_value=answer(40901, "exists", existing))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["receipt_no"] == "TJFG-2024-000007"
    assert outcome.receipt["platform_version"] == 1
    assert outcome.receipt["file_sha256"] == PDF_SHA


def test_40901_with_another_file_fails_as_a_conflict(platform: respx.MockRouter) -> None:
    existing = {"receipt_no": "TJFG-2024-000007", "file_sha256": "0" * 64}
    platform.post(REPORTS).mock(return_value=answer(40901, "exists", existing))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert outcome.code == "conflict"
    assert "TJFG-2024-000007" in outcome.message


def test_a_conflict_keeps_the_platforms_report_beside_our_hash_for_people(
    platform: respx.MockRouter,
) -> None:
    existing = {"receipt_no": "TJFG-2024-000007", "file_sha256": "0" * 64, "version": 3}
    platform.post(REPORTS).mock(return_value=answer(40901, "exists", existing))

    outcome, journal = deliver(make_adapter())

    assert isinstance(outcome, Failed) and outcome.code == "conflict"
    assert journal.state["conflict"] == {**existing, "our_sha256": PDF_SHA}
    assert journal.state["request_id"] == KEY  # the failed delivery's own, kept as it was


def test_a_replace_delivery_goes_as_the_version_it_carries_under_its_own_request_id(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS).mock(return_value=ok(receipt_no="TJFG-2024-000300"))
    job = make_job(idempotency_key=f"{KEY}-replace", state={"platform_version": 4})

    outcome, journal = deliver(make_adapter(), job)

    form = form_of(route.calls.last.request)
    assert (form["version"], form["request_id"]) == (b"4", f"{KEY}-replace".encode())
    assert isinstance(outcome, Delivered) and outcome.receipt["platform_version"] == 4
    assert journal.state == {"platform_version": 4, "request_id": f"{KEY}-replace"}


def test_42901_waits_retry_after_then_retries(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [answer(42901, "limited", {"retry_after": 2}), ok()]
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert isinstance(outcome, Delivered)
    assert sleeps.waits == [2.0]


def test_42901_longer_than_the_cap_goes_back_to_the_outbox(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(
        return_value=answer(42901, "limited", {"retry_after": 3600})
    )
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps, retry_after_cap_s=60))

    assert outcome == RetryLater("rate_limited", "42901: limited", 200, retry_after=3600.0)
    assert sleeps.waits == []
    assert route.call_count == 1


@pytest.mark.parametrize("code", [50001, 50301])
def test_a_busy_platform_is_retried_then_given_back_with_the_same_request(
    platform: respx.MockRouter, code: int
) -> None:
    route = platform.post(REPORTS).mock(return_value=answer(code, "系统繁忙"))
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert outcome == RetryLater("platform_busy", f"{code}: 系统繁忙", 200)
    assert route.call_count == 3
    assert len(sleeps.waits) == 2
    assert {form_of(call.request)["request_id"] for call in route.calls} == {KEY.encode()}


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_page_is_transient(platform: respx.MockRouter, status: int) -> None:
    page = f"<html><head><title>{status}</title></head><body>{'x' * 5000}</body></html>"
    route = platform.post(REPORTS)
    route.side_effect = [httpx.Response(status, text=page), ok()]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert route.call_count == 2


def test_a_gateway_error_to_the_end_keeps_a_short_message(platform: respx.MockRouter) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head>" + "x" * 5000
    platform.post(REPORTS).mock(return_value=httpx.Response(502, text=page))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, RetryLater)
    assert (outcome.code, outcome.http_status) == ("http_502", 502)
    assert outcome.message.startswith("<html><head><title>502 Bad Gateway")
    assert len(outcome.message) == 500


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset by peer"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_connection_failure_is_retried_with_the_same_request(
    platform: respx.MockRouter, failure: Exception
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [failure, ok()]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    first, second = (call.request for call in route.calls)
    assert first.content == second.content
    assert first.headers["X-Nonce"] != second.headers["X-Nonce"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>maintenance</html>",
        b'{"code": 0, "data": {"receipt_no": "TJ',
        b'{"ok": true}',
        b"[]",
    ],
    ids=["html", "truncated", "no_code", "not_an_object"],
)
def test_a_200_that_is_not_the_envelope_is_transient(
    platform: respx.MockRouter, body: bytes
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [httpx.Response(200, content=body), ok()]

    outcome, _ = deliver(make_adapter(quick_tries=1))
    again, _ = deliver(make_adapter())

    assert isinstance(outcome, RetryLater)
    assert (outcome.code, outcome.http_status) == ("bad_response", 200)
    assert isinstance(again, Delivered)


def test_a_413_from_the_gateway_fails_permanently(platform: respx.MockRouter) -> None:
    route = platform.post(REPORTS).mock(
        return_value=httpx.Response(413, text="<html>413 Request Entity Too Large</html>")
    )

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.http_status) == ("too_large", 413)
    assert route.call_count == 1


def test_an_unknown_error_code_fails_and_an_unknown_5xxxx_is_transient(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [answer(40099, "新错误"), answer(50099, "新繁忙")]

    refused, _ = deliver(make_adapter())
    busy, _ = deliver(make_adapter(quick_tries=1))

    assert isinstance(refused, Failed) and refused.code == "code_40099"
    assert isinstance(busy, RetryLater) and busy.code == "code_50099"


@pytest.mark.parametrize(
    ("kind", "size", "code"),
    [("txt", None, "file_type_not_accepted"), ("pdf", 20 * 1024 * 1024 + 1, "file_too_large")],
)
def test_a_file_the_platform_cannot_take_is_never_sent(
    platform: respx.MockRouter, kind: str, size: int | None, code: str
) -> None:
    route = platform.post(REPORTS).mock(return_value=ok())

    outcome, _ = deliver(make_adapter(), make_job(kind=kind, size=size))

    assert isinstance(outcome, Failed)
    assert outcome.code == code
    assert not route.called


# -- review status ------------------------------------------------------------------------


def test_poll_review_reads_a_returned_report_and_its_reason(platform: respx.MockRouter) -> None:
    data = {
        "receipt_no": "TJFG-2024-000123",
        "status": "RETURNED",
        "return_reason": "缺少下一年度工作安排",
        "updated_at": "2024-01-20T09:00:00+08:00",
    }
    route = platform.get(f"{REPORTS}/TJFG-2024-000123").mock(return_value=answer(0, "成功", data))

    review = make_adapter().poll_review("TJFG-2024-000123", ORG)

    assert review == ReviewStatus(
        "TJFG-2024-000123", "RETURNED", "缺少下一年度工作安排", "2024-01-20T09:00:00+08:00"
    )
    assert review.is_final
    request = route.calls.last.request
    assert request.content == b""
    assert request.headers["X-Signature"] == sign_by_hand(request, f"{REPORTS}/TJFG-2024-000123")


def test_poll_review_of_a_received_report_is_not_final(platform: respx.MockRouter) -> None:
    data = {"receipt_no": "TJFG-2024-000123", "status": "RECEIVED", "updated_at": "…"}
    platform.get(f"{REPORTS}/TJFG-2024-000123").mock(return_value=answer(0, "成功", data))

    review = make_adapter().poll_review("TJFG-2024-000123", ORG)

    assert isinstance(review, ReviewStatus)
    assert (review.status, review.return_reason, review.is_final) == ("RECEIVED", None, False)


def test_poll_review_of_an_unknown_receipt_says_so(platform: respx.MockRouter) -> None:
    platform.get(f"{REPORTS}/TJFG-2024-000999").mock(return_value=answer(40401, "回执号不存在"))

    review = make_adapter().poll_review("TJFG-2024-000999", ORG)

    assert review == UnknownReceipt("TJFG-2024-000999", "回执号不存在")


def test_poll_review_uses_the_bodys_own_credentials(platform: respx.MockRouter) -> None:
    route = platform.get(f"{REPORTS}/TJFG-2024-000123").mock(
        return_value=answer(0, "成功", {"status": "ACCEPTED"})
    )
    adapter = make_adapter(body_credentials={OTHER_ORG: AppCredentials("district-key", "ds")})

    review = adapter.poll_review("TJFG-2024-000123", OTHER_ORG)

    assert isinstance(review, ReviewStatus) and review.status == "ACCEPTED"
    request = route.calls.last.request
    assert request.headers["X-App-Key"] == "district-key"
    assert request.headers["X-Signature"] == sign_by_hand(request, request.url.path, "ds")


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(502, text="<html>bad gateway</html>"), ("http_502", False, None)),
        (answer(50001, "busy"), ("platform_busy", False, None)),
        (answer(42901, "limited", {"retry_after": 30}), ("rate_limited", False, 30.0)),
        (answer(40101, "bad signature"), ("unauthorized", True, None)),
        (answer(40301, "not yours"), ("org_not_allowed", True, None)),
        (answer(0, "成功", {"status": "LOST"}), ("bad_response", False, None)),
    ],
    ids=["gateway", "busy", "rate_limited", "unauthorized", "forbidden", "unknown_status"],
)
def test_poll_review_that_cannot_be_answered_says_why(
    platform: respx.MockRouter, response: httpx.Response, expected: tuple[str, bool, float | None]
) -> None:
    route = platform.get(f"{REPORTS}/TJFG-2024-000123").mock(return_value=response)

    review = make_adapter().poll_review("TJFG-2024-000123", ORG)

    assert isinstance(review, ReviewUnavailable)
    assert (review.code, review.permanent, review.retry_after) == expected
    assert route.call_count == 1  # the next scheduled poll is the retry


def test_poll_review_corrects_the_clock_too(platform: respx.MockRouter) -> None:
    route = platform.get(f"{REPORTS}/TJFG-2024-000123")
    route.side_effect = [
        answer(40102, "timestamp", {"server_time": 1_699_999_000_000}),
        answer(0, "成功", {"status": "ACCEPTED"}),
    ]

    review = make_adapter().poll_review("TJFG-2024-000123", ORG)

    assert isinstance(review, ReviewStatus)
    assert route.calls.last.request.headers["X-Timestamp"] == "1699999000000"


# -- logs and messages --------------------------------------------------------------------


def test_logs_carry_the_delivery_and_request_but_never_the_secret(
    platform: respx.MockRouter,
) -> None:
    route = platform.post(REPORTS)
    route.side_effect = [httpx.Response(503), ok()]

    with structlog.testing.capture_logs() as logs:
        deliver(make_adapter())

    calls = [entry for entry in logs if entry["event"] == "legal_platform.call"]
    assert [(c["endpoint"], c["http_status"]) for c in calls] == [("submit", 503), ("submit", 200)]
    assert all(entry["delivery_id"] == "dlv_1" for entry in logs)
    assert [e["outcome"] for e in logs if e["event"] == "legal_platform.delivery"] == ["Delivered"]
    assert all(c["request_id"] == KEY for c in calls)
    assert SECRET not in repr(logs)
    assert SECRET not in repr(make_adapter()._config)


def test_a_long_error_message_is_truncated_to_500_characters(platform: respx.MockRouter) -> None:
    platform.post(REPORTS).mock(return_value=answer(40001, "x" * 5000))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert len(outcome.message) == 500

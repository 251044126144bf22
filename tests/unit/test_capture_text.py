"""What a capture judges: a page's main text taken from a realistic government page
(navigation, 浏览次数, related links, footer), normalised, and the verdicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.capture.extract import page_text
from service.domain.capture import (
    Expected,
    PageVerdict,
    RotKind,
    Seen,
    Verdict,
    judge,
    next_check_at,
    normalise_text,
    publication_finding,
    rot_kind,
)
from service.simulators.portal.pages import render_article
from service.simulators.portal.state import Article, Attachment

AT = datetime(2026, 1, 5, tzinfo=UTC)
BODY = "<p>一、2023年主要工作</p>\n<p>（一）加强党的领导，推进依法行政。</p>"
FILED = normalise_text("一、2023年主要工作\n(一)加强党的领导,推进依法行政.")
PDF = "a" * 64


def _page(views: int, body_html: str = BODY, withdrawn: bool = False) -> bytes:
    article = Article(
        "art_1", "fzzfjs", {"title": "法治政府建设报告", "publisher": "南开区",
                            "body_html": body_html, "attachments": ["att_1"]},
        AT, AT, "http://127.0.0.1/fzzfjs/art_1.html",
    )  # fmt: skip
    if withdrawn:
        article.withdrawn_at, article.withdraw_reason = AT, "误发"
    attachment = Attachment("att_1", "报告.pdf", PDF, 1, "pdf")
    return render_article(article, [attachment], views).encode()


def _seen(page: bytes) -> Seen:
    return Seen(200, page_text(page, "text/html; charset=utf-8").main_text, attachments={"x": PDF})


def test_the_main_text_leaves_out_navigation_counter_related_links_and_footer() -> None:
    found = page_text(_page(41), "text/html; charset=utf-8")

    assert "一、2023年主要工作" in found.main_text
    for outside in ("首页", "浏览次数", "相关链接", "网站标识码", "41"):
        assert outside not in found.main_text
    assert "/attachments/att_1/报告.pdf" in found.links


def test_full_width_punctuation_and_whitespace_do_not_count() -> None:
    assert normalise_text("（一） 加强，\n推进。") == normalise_text("(一)加强,推进.")


def test_the_page_as_filed_is_unchanged_and_a_changing_counter_is_not_drift() -> None:
    expected = Expected(FILED, frozenset({PDF}))

    assert judge(_seen(_page(1)), expected) is Verdict.UNCHANGED
    assert judge(_seen(_page(9999)), expected) is Verdict.UNCHANGED


def test_a_changed_text_or_attachment_is_drift() -> None:
    expected = Expected(FILED, frozenset({PDF}))
    changed = _page(2, BODY.replace("推进", "暂停"))
    other_file = Seen(200, _seen(_page(3)).main_text, attachments={"x": "b" * 64})

    assert judge(_seen(changed), expected) is Verdict.DRIFT
    assert judge(other_file, expected) is Verdict.DRIFT


def test_404_soft_404_sent_home_and_no_answer_are_link_rot() -> None:
    expected = Expected(FILED, frozenset({PDF}))
    soft = page_text("<html><body><h1>页面不存在</h1></body></html>".encode(), None)

    for seen in (Seen(404), Seen(410), Seen(200, soft.main_text), Seen(302, sent_home=True),
                 Seen(None)):  # fmt: skip
        assert judge(seen, expected) is Verdict.LINK_ROT


def test_each_way_a_page_is_gone_is_named() -> None:
    soft = page_text("<html><body><h1>页面不存在</h1></body></html>".encode(), None)

    assert [rot_kind(seen) for seen in (
        Seen(None), Seen(302, sent_home=True), Seen(404), Seen(410), Seen(200, soft.main_text),
        Seen(503), Seen(302), Seen(304, not_modified=True), Seen(200, "正文"),
    )] == [
        RotKind.CONNECTION_FAILURE, RotKind.SENT_HOME, RotKind.NOT_FOUND, RotKind.GONE,
        RotKind.SOFT_404, RotKind.HTTP_ERROR, RotKind.HTTP_ERROR, None, None,
    ]  # fmt: skip


def test_drift_and_rot_are_findings_and_an_unchanged_or_withdrawn_page_is_none() -> None:
    url = "http://127.0.0.1/fzzfjs/art_1.html"

    def page(verdict: str | None, kind: str | None = None) -> PageVerdict:
        return PageVerdict(2, "portal", url, verdict, kind)

    drift = publication_finding(page("drift"))
    rot = publication_finding(page("link_rot", "gone"))
    assert drift is not None and drift.code == "publication_drift" and drift.is_error
    assert drift.where is not None and "portal" in drift.where and url in drift.where
    assert "第2版" in drift.where
    assert rot is not None and rot.code == "publication_link_rot"
    assert (
        rot.message_zh.endswith("：页面已删除（HTTP 410）") and "gone (HTTP 410)" in rot.message_en
    )
    assert [publication_finding(page(v)) for v in ("unchanged", "withdrawn", None)] == [None] * 3


def test_a_withdrawn_filing_is_expected_to_show_the_notice() -> None:
    expected = Expected(FILED, frozenset({PDF}), withdrawn=True)

    assert judge(_seen(_page(5, withdrawn=True)), expected) is Verdict.WITHDRAWN
    assert judge(_seen(_page(5)), expected) is Verdict.DRIFT


def test_a_304_keeps_the_verdict_it_had() -> None:
    expected = Expected(FILED, frozenset({PDF}))

    assert judge(Seen(304, not_modified=True), expected, Verdict.DRIFT) is Verdict.DRIFT


def test_the_checks_fall_on_day_1_7_30_then_monthly() -> None:
    due = [next_check_at(AT, n, (1, 7, 30), 30) - AT for n in range(5)]

    assert due == [timedelta(days=d) for d in (1, 7, 30, 60, 90)]


def test_an_oversized_page_is_cut_before_it_is_parsed() -> None:
    page = b"<html><body><div id=zoom>" + "字".encode() * 100_000 + b"</div></body></html>"

    found = page_text(page, "text/html; charset=utf-8", max_bytes=3000)

    assert found.truncated and len(found.main_text) <= 1000


def test_a_page_of_too_many_tags_stops_the_parser() -> None:
    page = b"<html><body><div id=zoom>" + b"<span>a</span>" * 5000 + b"</div></body></html>"

    found = page_text(page, None, max_elements=1000)

    assert found.truncated and found.main_text.count("a") <= 1000
    assert page_text(page, None, max_seconds=0).truncated  # out of time at once


def test_a_corrected_banner_above_the_text_is_not_drift() -> None:
    expected = Expected(FILED, frozenset({PDF}))
    corrected = Seen(200, "已更正\n" + _seen(_page(4)).main_text, attachments={"x": PDF})

    assert judge(corrected, expected) is Verdict.UNCHANGED


def test_the_text_kept_stops_at_its_bound() -> None:
    paragraphs = "".join(f"<p>第{n}段，依法行政。</p>" for n in range(5000))
    page = f"<html><body><div id='zoom'>{paragraphs}</div></body></html>".encode()

    whole = page_text(page, "text/html; charset=utf-8")
    cut = page_text(page, "text/html; charset=utf-8", max_chars=1000)

    assert not whole.truncated and "第4999段" in whole.main_text
    assert cut.truncated and 1000 <= len(cut.body_text) < 1100 and "第4999段" not in cut.main_text

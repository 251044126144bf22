"""What a person sees in the pages, in Chromium: signing in and out, the list and its
filters, a filing with its package and fixity check, a submission refused with its
findings and then accepted, and what each role may not see or do."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import Browser, Page, expect

from service.archive.packages.captures import CaptureFiles
from service.catalog.records import CaptureJob, CaptureResult
from service.domain.access import Role
from service.entrypoints.pages import filings
from service.usecases.tokens import TokenAdmin
from tests.browser.conftest import (
    COMPLIANCE,
    CORRECTION_REASON,
    IDLE_S,
    OPERATOR,
    OTHER,
    RECEIPT,
    TOKENS,
    Served,
    screenshot,
    sign_in,
)
from tests.support.documents import docx_from_text, sample_report

REPORT_TITLE = "南开区合作交流办党组2023年度法治政府建设情况报告"


def _actions(served: Served, actor: str) -> list[str]:
    events = served.container.catalog.audit_events(subject_prefix="session")
    return [e.action for e in events if e.actor == actor]


def test_a_person_signs_in_with_a_token_and_sees_only_their_bodys_filings(
    page: Page, served: Served
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    screenshot(page, "sign-in")
    sign_in(page, served, OPERATOR)
    listed = page.request.get("/filings")
    assert "frame-ancestors 'none'" in listed.headers["content-security-policy"]
    assert listed.headers["cache-control"] == "no-store"
    expect(page.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    expect(page.get_by_text("南开区司法局")).to_have_count(0)  # the other body's item
    expect(page.get_by_text("office-operator（经办人）")).to_be_visible()
    row = page.locator("table.list tbody tr").filter(has_text=REPORT_TITLE)
    expect(row).to_contain_text("2024-01-12 09:00:00")  # filed 01:00 UTC: Beijing time shown
    screenshot(page, "filings")
    cookie = next(c for c in page.context.cookies() if c["name"] == "disclosure_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert OPERATOR not in cookie["value"]
    assert "session.signed_in" in _actions(served, "office-operator")


def test_the_list_filters_by_kind(page: Page, served: Served) -> None:
    sign_in(page, served, COMPLIANCE)
    expect(page.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    page.get_by_label("类别").select_option(label="重大民生信息")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"category=livelihood"))
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("南开区司法局")
    expect(page.get_by_role("link", name=REPORT_TITLE)).to_have_count(0)
    screenshot(page, "filings-filtered")


def test_a_filing_shows_its_version_review_and_deliveries_gives_its_package_and_verifies(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    page.get_by_role("link", name=REPORT_TITLE).click()
    expect(page.get_by_role("heading", name=REPORT_TITLE)).to_be_visible()
    expect(page.locator("article.version")).to_contain_text("李明，2024-01-11，同意公开")
    delivery = page.locator("article.delivery")
    expect(delivery).to_contain_text("门户网站 · 第 1 版")
    expect(delivery).to_contain_text("已投递")
    expect(delivery).to_contain_text(RECEIPT["article_id"])  # the receipt
    expect(delivery.locator("tbody tr")).to_have_count(1)  # its one attempt
    expect(delivery.locator("tbody tr")).to_contain_text("成功")
    screenshot(page, "filing")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载归档包（第 1 版）").click()
    bag = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    names = bag.namelist()
    assert any(n.endswith("manifest-sha256.txt") for n in names)
    assert any(n.endswith("data/report.docx") for n in names), names
    page.get_by_role("button", name="固定性校验").click()
    expect(page.get_by_role("status")).to_contain_text("固定性校验结果：通过")
    expect(page.get_by_role("status")).to_contain_text("第 1 版：通过")
    screenshot(page, "filing-verified")
    checks = served.container.catalog.fixity_checks(served.seeded["report"])
    assert [(c.version, c.ok, c.checked_by) for c in checks][-1] == (1, True, "office-operator")


def test_a_corrected_filing_shows_each_version_with_the_reason_for_the_correction(
    page: Page, served: Served
) -> None:
    sign_in(page, served, COMPLIANCE)
    page.goto(f"/filings/{served.seeded['notice']}")
    versions = page.locator("article.version")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("第 2 版")
    expect(versions.first).to_contain_text(f"更正原因{CORRECTION_REASON}")
    expect(versions.nth(1)).to_contain_text("第 1 版")
    expect(page.locator("article.delivery").first).to_contain_text("已投递")
    screenshot(page, "filing-corrected")


def _fill_new_filing(page: Page, period: str, name: str, content: bytes) -> None:
    page.get_by_label("类别").select_option(label="法治政府建设情况报告")
    page.get_by_label("期间").fill(period)
    page.get_by_label("审查人").fill("李明")
    page.get_by_label("审查日期").fill("2023-01-11")
    page.get_by_label("审查结论").fill("同意公开")
    page.get_by_label("文件（DOCX、PDF、OFD、TXT）").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}]
    )
    page.get_by_role("button", name="提交报送").click()


def test_an_upload_with_errors_shows_its_findings_and_a_valid_one_opens_the_new_filing(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    page.get_by_role("link", name="新建报送").click()
    expect(page.get_by_role("heading", name="新建报送")).to_be_visible()
    screenshot(page, "new-filing")
    _fill_new_filing(
        page, "2022", "草稿.txt", "关于做好春季防火工作的通知\n请各单位注意防火。".encode()
    )
    refused = page.get_by_role("alert")
    expect(refused).to_contain_text("未通过校验")
    expect(page.locator("table.findings tbody tr").first).to_be_visible()
    expect(page.get_by_label("期间")).to_have_value("2022")  # what was typed is kept
    screenshot(page, "new-filing-refused")
    _fill_new_filing(page, "2022", "2022年报告.docx", docx_from_text(sample_report(2022)))
    expect(page).to_have_url(re.compile(r"/filings/fil_"))
    expect(
        page.get_by_role("heading", name=re.compile("2022年度法治政府建设情况报告"))
    ).to_be_visible()
    screenshot(page, "new-filing-accepted")


def test_compliance_staff_get_no_new_button_and_are_forbidden_to_submit(
    page: Page, served: Served
) -> None:
    sign_in(page, served, COMPLIANCE)
    expect(page.get_by_role("link", name="新建报送")).to_have_count(0)
    response = page.goto("/filings/new")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    screenshot(page, "forbidden")
    csrf = _csrf(page)
    posted = page.request.post(
        "/filings/new", multipart={"csrf_token": csrf, "org_code": "x"}, max_redirects=0
    )
    assert posted.status == 403
    assert "无权" in posted.text()


def test_an_operator_cannot_open_another_bodys_filing(page: Page, served: Served) -> None:
    sign_in(page, served, OTHER)
    response = page.goto(f"/filings/{served.seeded['report']}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_have_text("未找到该报送")
    package = page.request.get(f"/filings/{served.seeded['report']}/package")
    assert package.status == 404
    screenshot(page, "not-found")


def _csrf(page: Page) -> str:
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value
    return value


def test_a_post_without_the_sessions_csrf_token_is_refused(page: Page, served: Served) -> None:
    sign_in(page, served, OPERATOR)
    verify = f"/filings/{served.seeded['report']}/verify"
    missing = page.request.post(verify, form={}, max_redirects=0)
    wrong = page.request.post(verify, form={"csrf_token": "not-the-sessions"}, max_redirects=0)
    assert (missing.status, wrong.status) == (403, 403)
    assert "CSRF" in missing.text()
    right = page.request.post(verify, form={"csrf_token": _csrf(page)}, max_redirects=0)
    assert right.status == 200


def test_signing_out_ends_the_session_and_every_copy_of_its_cookie(
    page: Page, browser: Browser, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    copied = page.context.cookies()  # another tab, or a cookie taken off this machine
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("status")).to_have_text("已退出登录。")
    screenshot(page, "signed-out")
    page.goto("/filings")
    expect(page).to_have_url(re.compile(r"/sign-in\?ended=required"))
    assert _actions(served, "office-operator")[-2:] == ["session.signed_in", "session.signed_out"]
    elsewhere = browser.new_context(base_url=served.url, java_script_enabled=False)
    try:
        elsewhere.add_cookies(copied)
        other = elsewhere.new_page()
        other.goto("/filings")
        expect(other).to_have_url(re.compile(r"/sign-in\?ended=signed_out"))
        expect(other.get_by_role("status")).to_have_text("已退出登录。")
    finally:
        elsewhere.close()


def test_a_session_ends_after_its_idle_time_and_not_while_in_use(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    for _ in range(2):  # used within the idle time, twice: still signed in
        served.clock.advance(IDLE_S - 10)
        page.goto("/filings")
        expect(page.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    served.clock.advance(IDLE_S + 1)
    page.goto("/filings")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("status")).to_have_text("会话因长时间未操作已结束，请重新登录。")
    screenshot(page, "session-idle")


def test_a_revoked_token_ends_its_sessions(page: Page, served: Served) -> None:
    tokens = TokenAdmin(served.container.catalog, [t["name"] for t in TOKENS])
    issued = tokens.issue("leaving", Role.OPERATOR, ["*"], by="test")
    sign_in(page, served, issued.secret)
    tokens.revoke("leaving", by="test")  # as `disclosure tokens revoke leaving` does
    page.goto("/filings")
    expect(page.get_by_role("status")).to_have_text("令牌已失效，会话已结束，请重新登录。")


def test_sign_in_attempts_are_throttled_per_address_and_audited(page: Page, served: Served) -> None:
    served.clock.advance(61)
    before = _actions(served, "anonymous").count("session.sign_in_failed")
    page.goto("/sign-in")
    for _ in range(5):
        page.get_by_label("访问令牌").fill("a-wrong-token")
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("alert")).to_have_text("令牌无效，登录失败。")
    page.get_by_label("访问令牌").fill(OPERATOR)  # even the right one, now
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="请求过于频繁")).to_be_visible()
    screenshot(page, "sign-in-throttled")
    assert _actions(served, "anonymous").count("session.sign_in_failed") == before + 5
    served.clock.advance(61)
    sign_in(page, served, OPERATOR)  # a minute later it lets them in


def test_the_registry_of_bodies_is_shown(page: Page, served: Served) -> None:
    sign_in(page, served, COMPLIANCE)
    page.get_by_role("link", name="单位名录").click()
    expect(page.locator("table tbody tr")).to_have_count(2)
    expect(page.get_by_text("天津市南开区司法局")).to_be_visible()
    screenshot(page, "bodies")


def test_a_fault_in_the_service_is_still_a_page_in_chinese_with_the_request_id(
    page: Page, served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    sign_in(page, served, OPERATOR)
    monkeypatch.setattr(filings, "get_filing", broken)  # a bug behind the page
    answer = page.goto(f"/filings/{served.seeded['report']}")
    assert answer is not None and answer.status == 500
    expect(page.get_by_role("alert")).to_have_text(
        "服务内部错误，请稍后重试；如仍出现，请将本页的请求编号告知管理员"
    )
    request_id = answer.headers["x-request-id"]
    expect(page.get_by_text(f"请求编号 {request_id}")).to_be_visible()


def test_a_filing_shows_its_proof_of_publication_with_a_drifted_capture(
    page: Page, served: Served
) -> None:
    container, filing_id = served.container, served.seeded["report"]
    filing = container.catalog.get_filing(filing_id, with_attempts=False)
    assert filing is not None
    [delivery] = [d for d in filing.deliveries if d.destination == "portal"]
    prefix = filing.versions[0].package_prefix
    warc = CaptureFiles(container.store).put_warc(prefix, "portal", 0, b"WARC/1.1", None)
    now = served.clock()
    container.catalog.restore_capture(
        CaptureJob(filing_id, 1, "portal", delivery.id, RECEIPT["url"]),
        CaptureResult(
            "captured", captured_at=now, http_status=200, text_matches=False,
            attachments_match=True, warc_key=warc.key, warc_sha256=warc.sha256,
            last_checked_at=now, checks=1, verdict="drift", objects={warc.key: warc.sha256},
        ),
    )  # fmt: skip

    sign_in(page, served, OPERATOR)
    page.get_by_role("link", name=REPORT_TITLE).click()

    proof = page.get_by_role("region", name="公开证明")
    expect(proof).to_contain_text("可信时间戳")
    expect(proof.locator("article.capture")).to_contain_text("内容变更")
    expect(proof.get_by_role("alert")).to_contain_text("公开页面的正文或附件与报送内容不一致")
    expect(proof).to_contain_text(warc.sha256)
    findings = page.locator("article.version table.findings")  # the version's 问题与提示
    expect(findings).to_contain_text("publication_drift")
    expect(findings).to_contain_text(f"portal {RECEIPT['url']}")
    screenshot(page, "filing-proof")

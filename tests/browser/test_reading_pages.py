"""The reading pages in Chromium: 报送列表 searched by body name, title words and days,
sorted, with its total and its whole result exported as CSV and XLSX; 公开期限看板 for
2023 with each body's states, its counts and its export; 审计日志 filtered by action and
paged with its cursor; an operator refused the audit log.

Besides conftest's seed (the office's 2023 rule-of-law report filed 2024-01-12 and the
other body's livelihood item, corrected), `district` files the other body's 2023
government-information annual report late (2024-02-05, due 01-31) and exempts the
office from it (免报), so that 2023's board as of 2024-04-15 shows every state."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, Download, Page, expect

from service.entrypoints.api import search
from service.entrypoints.pages import export
from tests.browser.conftest import ADMIN, COMPLIANCE, OPERATOR, Served, screenshot, sign_in
from tests.support.board import file_on
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY

REPORT_TITLE = "南开区合作交流办党组2023年度法治政府建设情况报告"
NOTICE_TITLE = "南开区司法局重大民生信息（2024-01-05）"  # the title ingest gives it
EXEMPTION = "=机构调整，年报由区政府统一公开"  # begins with =: escaped in the exports
AS_OF = "2024-04-15"
# 2023's board as of 2024-04-15: (body, kind) → state shown
BOARD = {
    ("天津市南开区合作交流办公室", "法治政府建设情况报告"): "按时",
    ("天津市南开区合作交流办公室", "政府信息公开工作年度报告"): "免报",
    ("天津市南开区合作交流办公室", "部门预算/决算（部门预算）"): "未报送",
    ("天津市南开区合作交流办公室", "部门预算/决算（部门决算）"): "未到期",
    ("天津市南开区司法局", "法治政府建设情况报告"): "未报送",
    ("天津市南开区司法局", "政府信息公开工作年度报告"): "逾期",
    ("天津市南开区司法局", "部门预算/决算（部门预算）"): "未报送",
    ("天津市南开区司法局", "部门预算/决算（部门决算）"): "未到期",
}


@pytest.fixture(scope="module")
def district(served: Served) -> str:
    """The late annual report (its id) and the office's exemption; the clock back where
    it was."""
    now = served.clock.now
    late = file_on(
        served.container.catalog,
        served.clock,
        date(2024, 2, 5),
        org_code=OTHER_BODY,
        category="gov_info_annual_report",
        period="2023",
    )
    served.clock.now = now
    exemption = {
        "org_code": NANKAI_OFFICE,
        "category": "gov_info_annual_report",
        "period": "2023",
        "reason": EXEMPTION,
    }
    answer = httpx.post(
        f"{served.url}/v1/compliance/exemptions",
        json=exemption,
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return late


@pytest.fixture(scope="module")
def auditor(browser: Browser, served: Served, district: str) -> Iterator[Page]:
    """Compliance staff's page, signed in once for the module (a sign-in is most of
    what a test would cost); each test begins on 报送列表."""
    context = browser.new_context(
        base_url=served.url, accept_downloads=True, locale="zh-CN", java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    sign_in(opened, served, COMPLIANCE)
    yield opened
    context.close()


def _listed(page: Page) -> Page:
    page.goto("/filings")
    return page


def _rows(page: Page) -> list[str]:
    return page.locator("table.list tbody tr").all_inner_texts()


def _download(page: Page, link: str) -> Download:
    with page.expect_download() as started:
        page.get_by_role("link", name=link).click()
    return started.value


def _saved(download: Download) -> Path:
    path = download.path()
    assert path is not None
    return path


def _sheet(download: Download) -> list[list[object]]:
    """The workbook's one sheet, an empty cell as ""."""
    assert download.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(_saved(download).read_bytes()))
    assert len(workbook.worksheets) == 1
    return [[c or "" for c in row] for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_the_list_searches_by_body_name_and_title_words_and_shows_the_total(auditor: Page) -> None:
    page = _listed(auditor)
    expect(page.get_by_text("共 3 条")).to_be_visible()
    expect(page.get_by_text("第 1 / 1 页")).to_be_visible()
    page.get_by_label("单位名称含").fill("司法局")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"org_name="))
    expect(page.get_by_text("共 2 条")).to_be_visible()
    assert all("南开区司法局" in row or "测试单位" in row for row in _rows(page))
    expect(page.get_by_role("link", name=REPORT_TITLE)).to_have_count(0)
    page.get_by_label("单位名称含").fill("")
    page.get_by_label("标题含").fill("法治政府")
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text("共 1 条")).to_be_visible()
    expect(page.get_by_role("link", name=REPORT_TITLE)).to_be_visible()
    screenshot(page, "filings-search")


def test_the_list_filters_by_days_in_beijing_time(auditor: Page) -> None:
    page = auditor
    page.goto("/filings?submitted_since=2024-02-05&submitted_until=2024-02-05")
    expect(page.get_by_text("共 1 条")).to_be_visible()
    expect(page.locator("table.list tbody tr")).to_contain_text("2024-02-05 10:00:00")
    page.goto("/filings?submitted_until=2024-01-12")  # the seed's day, included
    expect(page.get_by_text("共 2 条")).to_be_visible()


def test_a_column_heading_sorts_the_list_and_again_reverses_it(auditor: Page) -> None:
    page = _listed(auditor)
    page.get_by_role("link", name="期间").click()
    expect(page).to_have_url(re.compile(r"sort=period&order=asc"))
    expect(page.locator("table.list tbody tr").first).to_contain_text("2023")
    expect(page.locator("table.list tbody tr").last).to_contain_text("2024-01-05")
    page.get_by_role("link", name="期间 ▲").click()
    expect(page.locator("table.list tbody tr").first).to_contain_text("2024-01-05")
    expect(page.get_by_role("link", name="期间 ▼")).to_be_visible()
    screenshot(page, "filings-sorted")


def test_an_unknown_or_malformed_filter_is_a_chinese_error_page(auditor: Page) -> None:
    page = auditor
    for query in ("status=lost", "orgname=南开", "submitted_since=2024-13-01", "sort=sha256"):
        answer = page.goto(f"/filings?{query}")
        assert answer is not None and answer.status == 400, query
        expect(page.get_by_role("heading", name="无法完成请求")).to_be_visible()


def test_the_whole_result_is_exported_as_csv_with_a_bom_and_as_xlsx(
    auditor: Page, served: Served, district: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH", 1)  # the rows of every page, one page at a time
    page = auditor
    page.goto("/filings?org_name=司法局&sort=period&order=asc")
    download = _download(page, "CSV")
    assert download.suggested_filename.endswith(".csv")
    csv_bytes = _saved(download).read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))))
    assert table[0][:6] == ["报送编号", "单位代码", "单位名称", "类别", "期间", "标题"]
    assert [(r[0], r[4]) for r in table[1:]] == [
        (district, "2023"),
        (served.seeded["notice"], "2024-01-05"),
    ]
    notice = table[2]
    assert (notice[3], notice[5], notice[6]) == ("重大民生信息", NOTICE_TITLE, "2")
    assert _sheet(_download(page, "Excel（XLSX）")) == table


def test_an_export_larger_than_its_limit_is_refused(
    auditor: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "MAX_ROWS", 2)
    page = auditor
    answer = page.goto("/filings/export?format=csv")
    assert answer is not None and answer.status == 400
    expect(page.get_by_role("alert")).to_have_text(
        "查询结果超过导出上限 2 条，请缩小查询范围后再导出"
    )
    within = page.request.get("/filings/export?format=xlsx&org_name=司法局")  # 2 rows
    assert within.status == 200


def test_a_total_past_the_counting_limit_is_shown_as_at_least_and_still_exported(
    auditor: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million filings a total is counted up to 1,000 (here: 2) and shown as 2+;
    an export counts up to its own limit and holds every row."""
    monkeypatch.setattr(search, "COUNT_UP_TO", 2)
    page = auditor
    page.goto("/filings")
    expect(page.locator(".total")).to_have_text("共 2+ 条")
    expect(page.get_by_text("第 1 / 1+ 页")).to_be_visible()
    exported = page.request.get("/filings/export?format=csv")
    assert exported.status == 200
    rows = list(csv.reader(io.StringIO(exported.body().decode("utf-8-sig"))))
    assert len(rows) == 1 + 3  # the header and every filing the auditor sees


def test_an_operators_export_holds_only_their_bodys_filings(
    page: Page, served: Served, district: str
) -> None:
    sign_in(page, served, OPERATOR)
    exported = page.request.get("/filings/export?format=csv")
    assert exported.status == 200
    assert exported.headers["cache-control"] == "no-store"
    lines = exported.body().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and served.seeded["report"] in lines[1]


def test_the_deadline_board_shows_each_body_and_kind_with_its_state_and_exports_it(
    auditor: Page,
) -> None:
    page = _listed(auditor)
    page.get_by_role("link", name="公开期限看板").click()
    expect(page.get_by_role("heading", name="公开期限看板 · 2023 年度")).to_be_visible()
    page.get_by_label("统计日期").fill(AS_OF)
    page.get_by_role("button", name="查询").click()
    cells = _board_cells(page)
    assert {(c[0], c[1]): c[3] for c in cells} == BOARD
    late = next(c for c in cells if c[3] == "逾期")
    assert (late[4], late[5]) == ("2024-01-31", "2024-02-05")
    exempt = next(c for c in cells if c[3] == "免报")
    assert exempt[8] == EXEMPTION
    counts = page.locator("ul.counts")
    for label, n in (("按时", 1), ("逾期", 1), ("未报送", 3), ("未到期", 2), ("免报", 1)):
        expect(counts).to_contain_text(f"{label} {n}")
    screenshot(page, "deadlines")
    table = list(csv.reader(io.StringIO(_saved(_download(page, "CSV")).read_text("utf-8-sig"))))
    assert table[0][6] == "状态" and len(table) == 1 + len(BOARD)
    assert sorted(r[6] for r in table[1:]) == sorted(BOARD.values())
    assert "'" + EXEMPTION in [r[10] for r in table[1:]]
    assert _sheet(_download(page, "Excel（XLSX）")) == table


def _board_cells(page: Page) -> list[list[str]]:
    rows = page.locator("table.board tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()]
        for i in range(rows.count())
    ]


def test_an_operator_sees_the_board_of_their_own_body_only(
    page: Page, served: Served, district: str
) -> None:
    sign_in(page, served, OPERATOR)
    page.goto(f"/deadlines?year=2023&as_of={AS_OF}")
    bodies = {c[0] for c in _board_cells(page)}
    assert bodies == {"天津市南开区合作交流办公室"}
    answer = page.goto(f"/deadlines?year=2023&org_code={OTHER_BODY}")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()


def test_the_audit_log_filtered_by_action_shows_sign_ins_and_submissions(
    auditor: Page, served: Served
) -> None:
    page = _listed(auditor)
    page.get_by_role("link", name="审计日志").click()
    page.get_by_label("动作").fill("session.signed_in")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"action=session.signed_in"))
    rows = _rows(page)
    assert rows and all("session.signed_in" in row for row in rows)
    assert any("auditor" in row for row in rows)
    screenshot(page, "audit")
    page.get_by_label("动作").fill("filing.submitted")
    page.get_by_role("button", name="查询").click()
    submitted = _rows(page)
    assert all("filing.submitted" in row for row in submitted)
    assert any("office-operator" in row and served.seeded["report"] in row for row in submitted)
    assert any("other-operator" in row and served.seeded["notice"] in row for row in submitted)


def test_the_audit_log_pages_with_its_cursor(auditor: Page) -> None:
    page = auditor
    page.goto("/audit?action=filing.submitted&limit=1")
    first = _rows(page)
    page.get_by_role("link", name="下一页").click()
    second = _rows(page)
    assert len(first) == len(second) == 1 and first != second
    page.get_by_role("link", name="第一页").click()
    assert _rows(page) == first


def test_an_operator_is_refused_the_audit_log_and_not_offered_it(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    expect(page.get_by_role("link", name="审计日志")).to_have_count(0)
    expect(page.get_by_role("link", name="公开期限看板")).to_be_visible()
    answer = page.goto("/audit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()
    screenshot(page, "audit-forbidden")


def test_compliance_staff_are_not_offered_a_new_filing(auditor: Page) -> None:
    page = _listed(auditor)
    nav = page.locator("header.top nav")
    expect(nav.get_by_role("link", name="新建报送")).to_have_count(0)
    expect(nav.get_by_role("link", name="审计日志")).to_be_visible()


def test_the_audit_log_filters_by_days_in_beijing_time(auditor: Page) -> None:
    page = auditor
    page.goto("/audit?action=filing.submitted&since=2024-02-05&until=2024-02-05")
    rows = _rows(page)  # the late report's (filed straight into the catalog, by "op")
    assert len(rows) == 1 and "2024-02-05 10:00:00\top\t" in rows[0] and OTHER_BODY in rows[0]
    page.goto("/audit?action=filing.submitted&until=2024-02-04")
    earlier = _rows(page)
    assert len(earlier) == 2 and not any("2024-02-05" in row for row in earlier)


@pytest.mark.parametrize(
    "path", ["/filings?title=法治", "/filings/export?format=csv", "/deadlines", "/audit"]
)
def test_without_signing_in_each_reading_page_sends_the_browser_to_sign_in(
    served: Served, path: str
) -> None:
    answer = httpx.get(served.url + path, follow_redirects=False, timeout=30)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/sign-in?ended=required&next=")

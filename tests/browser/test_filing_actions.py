"""Acting on a filing from its pages, in Chromium without JavaScript: 更正 with (and
without) a reason, 撤回 reaching the portal once while the legal platform is left to a
person, 重新投递 of a failed delivery, a scheduled release moved, held and released, and
新建报送 checked first (校验) then submitted without choosing the file again — a budget
with its 批复日期, a leadership item with two leaders, an admin's waiver; an operator is
offered no waivers.

The module serves its own service (routes to both destinations for the rule-of-law
report) and files what it acts on through the API before the tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from service.bootstrap import build_container
from service.delivery.port import (
    Delivered,
    DeliveryJob,
    Failed,
    Journal,
    Outcome,
    WithdrawJob,
)
from service.domain.destinations import Capability
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.browser.conftest import (
    ADMIN,
    COMPLIANCE,
    IDLE_S,
    OPERATOR,
    TOKENS,
    Served,
    _submit,
    screenshot,
    sign_in,
)
from tests.support.bodies import NANKAI_OFFICE, sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import docx_from_text, livelihood_notice, sample_report
from tests.support.servers import app_in_thread
from tests.support.worker import run_worker_once

ROUTES = {
    "rule_of_law_report": ["portal", "legal_platform"],
    "livelihood": ["portal"],
    "leadership": [],
    "budget_final_accounts": [],
    "organization": [],
    "gov_info_annual_report": [],
}
BUDGET_TEXT = """南开区合作交流办2024年部门预算
一、部门收支总表
二、部门收入总表
三、部门支出总表
四、财政拨款收支总表
五、一般公共预算支出表
六、一般公共预算基本支出表
七、一般公共预算“三公”经费支出表
八、政府性基金预算支出表
九、国有资本经营预算支出表
2024年基本支出预算480万元，项目支出预算40万元；机关运行经费预算35万元。
"""
# Without 基本支出: an error (budget_basic_expenditure_missing) an admin may waive.
FINAL_ACCOUNTS_TEXT = """南开区合作交流办2023年度部门决算
第一部分 部门概况
第二部分 2023年度部门决算表
一、收入支出决算总表
二、收入决算表
三、支出决算表
四、财政拨款收入支出决算总表
五、一般公共预算财政拨款支出决算表
六、一般公共预算财政拨款基本支出决算表
七、一般公共预算财政拨款“三公”经费支出决算表
八、政府性基金预算财政拨款收入支出决算表
九、国有资本经营预算财政拨款支出决算表
第三部分 2023年度部门决算情况说明
本年支出合计520.3万元，项目支出40.2万元。
机关运行经费支出35.6万元，比上年减少2.1万元。
"""
LEADERSHIP_TEXT = """南开区合作交流办领导信息
主任：张伟，主持全面工作。
副主任：李娜，负责招商引资、对口支援工作。
"""
WAIVER_REASON = "基本支出已在附表六中列示"


@dataclass
class Destination:
    """Publishes at once, except the filings told to fail; with WITHDRAW, takes down."""

    destination: str
    capabilities: frozenset[Capability] = frozenset({Capability.PARAGRAPHS})
    failing: set[str] = field(default_factory=set)
    withdrawn: list[WithdrawJob] = field(default_factory=list)

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        if job.filing_id in self.failing:
            return Failed("rejected", "门户网站拒收：栏目已停用", 400)
        return Delivered({"article_id": f"art_{job.filing_id}_v{job.version}"}, 201)

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome:
        self.withdrawn.append(job)
        articles = [{"article_id": r["article_id"], "status": "withdrawn"} for r in job.published]
        return Delivered({"status": "withdrawn", "articles": articles}, 200)


@dataclass(frozen=True)
class Acting:
    served: Served
    portal: Destination
    platform: Destination

    def deliver(self) -> None:
        adapters = {"portal": self.portal, "legal_platform": self.platform}
        run_worker_once(self.served.container, adapters, concurrency=6)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def acting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acting]:
    tmp = tmp_path_factory.mktemp("actions")
    settings = Settings.model_validate(
        {"data_dir": tmp / "var", "orgs_file": write_registry(tmp), "tokens": TOKENS,
         "session_idle_s": IDLE_S, "routes": ROUTES}
    )  # fmt: skip
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    try:
        with app_in_thread(create_app(container.api(), container.pages())) as url:
            seeded = _seed(url)
            served = Served(url, container, clock, seeded)
            portal = Destination("portal", frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW}))
            portal.failing.add(seeded["failing"])
            acting = Acting(served, portal, Destination("legal_platform"))
            acting.deliver()
            yield acting
    finally:
        container.close()


@pytest.fixture(scope="module")
def served(acting: Acting) -> Served:
    """The conftest's `page` and `sign_in` use this module's service."""
    return acting.served


def _seed(url: str) -> dict[str, str]:
    day = date(2024, 1, 5)
    livelihood = {"category": "livelihood", "livelihood": {"field": "教育"}}
    return {
        "report": _submit(url, OPERATOR, sample_metadata(), "report.docx",
                          docx_from_text(sample_report())),
        "withdrawing": _submit(url, OPERATOR, sample_metadata(period="2022"), "2022.docx",
                               docx_from_text(sample_report(2022))),
        "failing": _submit(url, OPERATOR, sample_metadata(**livelihood, period="2024-01-05"),
                           "notice.txt", livelihood_notice(day).encode()),
        "scheduled": _submit(url, OPERATOR, sample_metadata(
            **livelihood, period="2024-01-08", publish_at="2024-02-01T09:00:00+08:00"),
            "later.txt", livelihood_notice(date(2024, 1, 8)).encode()),
    }  # fmt: skip


def _file(page: Page, name: str, content: bytes) -> None:
    page.get_by_label("文件（DOCX、PDF、OFD、TXT）").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": content}]
    )


def test_a_correction_needs_a_reason_and_then_shows_as_the_new_version(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{served.seeded['report']}")
    page.get_by_role("link", name="更正", exact=True).click()
    expect(page.get_by_role("heading", name="更正报送")).to_be_visible()
    expect(page.get_by_label("审查人")).to_have_value("李明")  # from the latest version
    screenshot(page, "correct")
    _file(page, "report.docx", docx_from_text(sample_report(mark="（更正）")))
    page.get_by_label("更正原因").fill("   ")  # passes the browser's `required`, not the rule
    page.get_by_role("button", name="校验").click()
    expect(page.get_by_role("status")).to_contain_text("未通过")
    expect(page.get_by_role("status")).to_contain_text("correction_reason_missing")
    page.get_by_role("button", name="提交更正").click()
    expect(page.get_by_role("alert")).to_contain_text("请填写更正原因（1 至 500 字）")
    expect(page.get_by_role("alert")).to_contain_text("correction_reason_missing")
    expect(page.locator("#held-file")).to_contain_text("report.docx")  # no second choice
    screenshot(page, "correct-without-reason")
    page.get_by_label("更正原因").fill("更正第三部分的统计口径")
    page.get_by_role("button", name="提交更正").click()
    expect(page).to_have_url(re.compile(rf"/filings/{served.seeded['report']}$"))
    newest = page.locator("article.version").first
    expect(newest).to_contain_text("第 2 版")
    expect(newest).to_contain_text("更正原因更正第三部分的统计口径")
    screenshot(page, "corrected")
    refused = served.container.catalog.audit_events(subject_prefix=served.seeded["report"])
    assert "filing.refused" in [e.action for e in refused]  # audited as the API audits it


def test_compliance_staff_may_withdraw_but_not_correct_or_retry(page: Page, served: Served) -> None:
    sign_in(page, served, COMPLIANCE)
    page.goto(f"/filings/{served.seeded['failing']}")
    expect(page.get_by_role("link", name="撤回")).to_be_visible()
    expect(page.get_by_role("link", name="更正", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("重新投递"))).to_have_count(0)
    expect(page.get_by_role("region", name="定时发布")).to_have_count(0)
    assert page.request.get(f"/filings/{served.seeded['failing']}/correct").status == 403


def test_a_withdrawal_takes_the_article_down_once_and_leaves_the_platform_to_a_person(
    page: Page, acting: Acting, served: Served
) -> None:
    filing_id = served.seeded["withdrawing"]
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{filing_id}")
    page.get_by_role("link", name="撤回").click()
    expect(page.get_by_role("heading", name="撤回报送")).to_be_visible()
    expect(page.get_by_label("我确认撤回此报送")).to_have_attribute("required", "")
    screenshot(page, "withdraw")
    page.get_by_label("撤回原因").fill("报告数据有误，待核实后重新报送")
    page.get_by_label("我确认撤回此报送").check()
    page.get_by_role("button", name="确认撤回").click()
    expect(page).to_have_url(re.compile(rf"/filings/{filing_id}$"))
    withdrawn = page.get_by_role("region", name="撤回")
    expect(withdrawn).to_contain_text("报告数据有误，待核实后重新报送")
    expect(withdrawn).to_contain_text("office-operator")
    expect(withdrawn).to_contain_text("2024-01-12")  # when, in Beijing time
    expect(withdrawn).to_contain_text("须人工撤回")  # the legal platform has no withdraw call
    expect(withdrawn).to_contain_text("撤稿中")
    expect(page.locator("dl.facts").first).to_contain_text("已撤回")
    expect(page.get_by_role("link", name="撤回")).to_have_count(0)
    expect(page.get_by_role("link", name="更正", exact=True)).to_have_count(0)
    refused = page.request.get(f"/filings/{filing_id}/correct")
    assert refused.status == 409 and "已撤回，不能更正" in refused.text()
    acting.deliver()
    acting.deliver()
    assert [j.filing_id for j in acting.portal.withdrawn].count(filing_id) == 1
    page.reload()
    expect(page.get_by_role("region", name="撤回")).to_contain_text("已撤稿")
    takedown = page.locator("article.delivery", has_text="门户网站 · 第 1 版 · 撤稿")
    expect(takedown).to_contain_text("已投递")  # the takedown, told apart from the publication
    screenshot(page, "withdrawn")


def test_a_failed_delivery_is_queued_again(page: Page, served: Served) -> None:
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{served.seeded['failing']}")
    delivery = page.locator("article.delivery")
    expect(delivery).to_contain_text("投递失败")
    expect(delivery).to_contain_text("栏目已停用")
    page.get_by_role("button", name="重新投递（门户网站）").click()
    expect(page).to_have_url(re.compile(rf"/filings/{served.seeded['failing']}$"))
    expect(delivery).to_contain_text("待投递")
    expect(page.get_by_role("button", name=re.compile("重新投递"))).to_have_count(0)
    screenshot(page, "retried")
    events = served.container.catalog.audit_events(subject_prefix=served.seeded["failing"])
    assert "delivery.retry_requested" in [e.action for e in events]


def test_a_scheduled_release_is_moved_held_and_released(page: Page, served: Served) -> None:
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{served.seeded['scheduled']}")
    schedule = page.get_by_role("region", name="定时发布")
    expect(schedule).to_contain_text("2024-02-01 09:00:00")
    page.get_by_label("发布时间（北京时间）").fill("2024-03-01T10:30")
    page.get_by_role("button", name="调整发布时间").click()
    expect(schedule).to_contain_text("当前发布时间：2024-03-01 10:30:00")
    screenshot(page, "schedule-moved")
    served.clock.advance(1)  # each decision is archived under its time (one per instant)
    page.get_by_role("button", name="暂缓发布").click()
    expect(schedule).to_contain_text("暂缓发布")
    expect(page.locator("article.delivery")).to_contain_text("暂缓发布")
    screenshot(page, "schedule-held")
    page.get_by_label("发布时间（北京时间）").fill("2024-01-01T09:00")  # in the past
    page.get_by_role("button", name="恢复发布").click()
    expect(page.get_by_role("alert")).to_contain_text("发布时间须晚于当前时间")
    screenshot(page, "schedule-refused")
    page.goto(f"/filings/{served.seeded['scheduled']}")
    served.clock.advance(1)
    page.get_by_label("发布时间（北京时间）").fill("2024-04-01T09:00")
    page.get_by_role("button", name="恢复发布").click()
    expect(schedule).to_contain_text("当前发布时间：2024-04-01 09:00:00")
    expect(page.locator("article.delivery")).to_contain_text("待投递")


def test_a_delivered_release_can_no_longer_move(page: Page, served: Served) -> None:
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{served.seeded['failing']}")
    expect(page.get_by_role("region", name="定时发布")).to_have_count(0)
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")
    answer = page.request.post(
        f"/filings/{served.seeded['failing']}/schedule",
        form={"csrf_token": csrf or "", "action": "hold"},
    )
    assert answer.status == 409
    assert "已开始投递" in answer.text()


def _new_filing(page: Page, category: str, period: str) -> None:
    page.goto("/filings/new")
    page.get_by_label("类别").select_option(label=category)
    page.get_by_label("期间").fill(period)


def _check_then_submit(page: Page, name: str, content: bytes) -> None:
    _file(page, name, content)
    page.get_by_role("button", name="校验").click()
    expect(page.get_by_role("status")).to_contain_text("校验结果：通过，可以提交")
    expect(page.locator("#held-file")).to_contain_text(name)


def test_a_budget_is_checked_then_submitted_with_its_approval_date(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    _new_filing(page, "部门预算/决算", "2024")
    expect(page.locator("fieldset.waivers")).to_have_count(0)  # an operator waives nothing
    expect(page.get_by_text("豁免")).to_have_count(0)
    page.get_by_label("预算或决算").select_option(label="预算")
    page.get_by_label("批复日期").fill("2024-01-05")
    page.get_by_label("领导1 姓名").fill("不相干")  # another kind's field: ignored
    _check_then_submit(page, "预算.txt", BUDGET_TEXT.encode())
    screenshot(page, "new-filing-checked")
    page.get_by_role("button", name="提交报送").click()
    expect(page).to_have_url(re.compile(r"/filings/fil_"))
    version = page.locator("article.version").first
    expect(version).to_contain_text("预算或决算预算")
    expect(version).to_contain_text("批复日期2024-01-05")
    expect(version).not_to_contain_text("不相干")
    screenshot(page, "new-budget")
    held = served.container.spool_area
    assert held is not None and not list((held.path / "held").glob("*.upload"))


def test_a_leadership_item_takes_several_leaders(page: Page, served: Served) -> None:
    sign_in(page, served, OPERATOR)
    _new_filing(page, "领导信息", "2024-01-05")
    for i, (name, post, duties) in enumerate(
        [("张伟", "主任", "主持全面工作"), ("李娜", "副主任", "负责招商引资、对口支援工作")], 1
    ):
        page.get_by_label(f"领导{i} 姓名").fill(name)
        page.get_by_label(f"领导{i} 职务").fill(post)
        page.get_by_label(f"领导{i} 分工").fill(duties)
    _check_then_submit(page, "领导信息.txt", LEADERSHIP_TEXT.encode())
    page.get_by_role("button", name="提交报送").click()
    expect(page).to_have_url(re.compile(r"/filings/fil_"))
    leaders = page.locator("ul.leaders li")
    expect(leaders).to_have_count(2)
    expect(leaders.nth(0)).to_have_text("张伟，主任：主持全面工作")
    expect(leaders.nth(1)).to_have_text("李娜，副主任：负责招商引资、对口支援工作")
    screenshot(page, "new-leadership")


def test_an_admin_waives_an_error_with_a_reason(page: Page, served: Served) -> None:
    sign_in(page, served, ADMIN)
    _new_filing(page, "部门预算/决算", "2023")
    page.get_by_label("单位").select_option(NANKAI_OFFICE)
    page.get_by_label("预算或决算").select_option(label="决算")
    page.get_by_label("批复日期").fill("2024-01-05")
    _file(page, "决算.txt", FINAL_ACCOUNTS_TEXT.encode())
    page.get_by_role("button", name="校验").click()
    expect(page.get_by_role("status")).to_contain_text("未通过")
    expect(page.locator("table.findings")).to_contain_text("budget_basic_expenditure_missing")
    page.get_by_label("豁免1 问题代码").fill("budget_basic_expenditure_missing")
    page.get_by_label("豁免1 理由").fill(WAIVER_REASON)
    screenshot(page, "new-filing-waiver")
    page.get_by_role("button", name="提交报送").click()
    expect(page).to_have_url(re.compile(r"/filings/fil_"))
    findings = page.locator("article.version").first.locator("table.findings")
    expect(findings).to_contain_text(f"已豁免：{WAIVER_REASON}")
    screenshot(page, "new-filing-waived")


def test_a_second_report_for_the_same_year_is_sent_to_correct_the_first(
    page: Page, served: Served
) -> None:
    sign_in(page, served, OPERATOR)
    _new_filing(page, "法治政府建设情况报告", "2023")
    _file(page, "另一份.docx", docx_from_text(sample_report(mark="（另一份）")))
    page.get_by_role("button", name="提交报送").click()
    expect(page.get_by_role("alert")).to_contain_text("该单位同一类别、同一期间已有报送")
    page.get_by_role("link", name="更正已有的报送").click()
    expect(page).to_have_url(re.compile(rf"/filings/{served.seeded['report']}/correct$"))
    expect(page.get_by_role("heading", name="更正报送")).to_be_visible()

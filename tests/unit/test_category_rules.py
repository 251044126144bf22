"""Each kind of filing: a valid example passes clean, and each rule has an example that
yields exactly its code. Read the CASES tables as rule → example → expected code.
Dates are fixed, never today."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.categories import content_rule
from service.domain.filing import Category
from service.domain.findings import Severity
from service.domain.metadata import FilingMetadata
from service.domain.org import Level, Organisation
from service.validation import Document, ValidationRules, validate_filing
from tests.support.documents import ANNUAL_REPORT_TEXT, SAMPLE_PATH, annual_report_tables

ORG_CODE = "11620300013909010R"
ORG_NAME = "南开区合作交流办"
ERROR, WARNING = Severity.ERROR, Severity.WARNING

Example = dict[str, Any]  # {"text": str, "metadata": dict, "received_on": date, "org": …}


def _codes(example: Example, rules: ValidationRules | None = None) -> set[tuple[str, Severity]]:
    findings = _findings(example, rules)
    assert all(f.where and f.message_zh and f.message_en for f in findings)
    return {(f.code, f.severity) for f in findings}


def _findings(example: Example, rules: ValidationRules | None = None) -> list[Any]:
    lines = tuple(line.strip() for line in example["text"].splitlines() if line.strip())
    metadata = FilingMetadata.model_validate(
        {"org_code": ORG_CODE, "org_name": ORG_NAME, **example["metadata"]}
    )
    return validate_filing(
        Document("txt", "text/plain; charset=utf-8", lines),
        metadata,
        example.get("org"),
        content_rule=content_rule(metadata),
        received_on=example["received_on"],
        rules=rules or ValidationRules(),
        require_review=example.get("require_review", False),
    ).findings


def _with(**changes: Any) -> Callable[[Example], Example]:
    """A copy of the example with metadata keys (dotted paths) or text replaced."""

    def mutate(example: Example) -> Example:
        out = copy.deepcopy(example)
        for key, value in changes.items():
            if key in ("received_on", "org", "require_review"):
                out[key] = value
                continue
            target = out["metadata"]
            *path, last = key.split("__")
            for part in path:
                target = target.setdefault(part, {})
            if value is _DELETE:
                target.pop(last, None)
            else:
                target[last] = value
        return out

    return mutate


_DELETE = object()


def _text(old: str, new: str) -> Callable[[Example], Example]:
    def mutate(example: Example) -> Example:
        assert old in example["text"], old
        out = copy.deepcopy(example)
        out["text"] = out["text"].replace(old, new)
        return out

    return mutate


def _then(*mutations: Callable[[Example], Example]) -> Callable[[Example], Example]:
    def mutate(example: Example) -> Example:
        for m in mutations:
            example = m(example)
        return example

    return mutate


# -- 部门决算 / 部门预算 ------------------------------------------------------------------------

FINAL_ACCOUNTS_TEXT = """南开区合作交流办2023年度部门决算
第一部分 部门概况
一、主要职能 二、机构设置
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
本年支出合计520.3万元，其中基本支出480.1万元，项目支出40.2万元。
机关运行经费支出35.6万元，比上年减少2.1万元。
第四部分 名词解释
"""

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


def final_accounts() -> Example:
    return {
        "text": FINAL_ACCOUNTS_TEXT,
        "metadata": {
            "category": "budget_final_accounts",
            "period": "2023",
            "budget": {"kind": "final_accounts", "approved_on": "2024-08-10"},
        },
        "received_on": date(2024, 8, 30),  # the 20th day after 批复
    }


def budget() -> Example:
    return {
        "text": BUDGET_TEXT,
        "metadata": {
            "category": "budget_final_accounts",
            "period": "2024",
            "budget": {"kind": "budget", "approved_on": "2024-02-01"},
        },
        "received_on": date(2024, 2, 8),
    }


BUDGET_CASES = [
    ("final-accounts-valid", final_accounts, lambda e: e, set()),
    ("budget-valid", budget, lambda e: e, set()),
    ("no-approval-date", final_accounts, _with(budget__approved_on=None), {("budget_approval_missing", ERROR)}),
    ("no-budget-details-at-all", final_accounts, _with(budget=_DELETE), {("budget_approval_missing", ERROR)}),
    ("published-21-days-after-approval", final_accounts, _with(received_on=date(2024, 8, 31)), {("budget_late", WARNING)}),
    ("a-final-accounts-table-missing", final_accounts, _text("三、支出决算表\n", ""), {("budget_table_missing", WARNING)}),
    ("the-three-public-table-missing", final_accounts, _text("七、一般公共预算财政拨款“三公”经费支出决算表\n", ""), {("budget_table_missing", WARNING)}),
    ("a-budget-table-missing", budget, _text("四、财政拨款收支总表\n", ""), {("budget_table_missing", WARNING)}),
    ("no-basic-expenditure", final_accounts, _text("其中基本支出480.1万元，", ""), {("budget_basic_expenditure_missing", ERROR)}),
    ("no-project-expenditure", final_accounts, _text("项目支出40.2万元", ""), {("budget_project_expenditure_missing", ERROR)}),
    ("no-operating-costs", final_accounts, _text("机关运行经费支出35.6万元，比上年减少2.1万元。", ""), {("budget_operating_costs_missing", WARNING)}),
    ("kind-from-the-title", final_accounts, _with(budget__kind=None), set()),
    ("kind-unknown", final_accounts, _then(_with(budget__kind=None), _text("2023年度部门决算\n", "2023年度报告\n"), _text("2023年度部门决算表", "附表")), {("budget_kind_unknown", WARNING)}),
]  # fmt: skip


# -- 领导信息 / 机构职能 / 重大民生信息 ------------------------------------------------------------

LEADERSHIP_TEXT = """南开区合作交流办领导信息
主任：张伟，主持全面工作。
副主任：李娜，负责招商引资、对口支援工作。
"""

ORGANIZATION_TEXT = """南开区合作交流办机构职能
主要职责：负责全区对口支援、东西部协作和招商引资工作。
内设机构：办公室（负责文电、会务、财务）；协作科（负责对口支援）。
办公地址：天津市南开区红旗路1号
办公时间：周一至周五 9:00—17:00
联系电话：022-27350000
"""

LIVELIHOOD_TEXT = """南开区2024年春季学期义务教育阶段学校招生工作安排
经区教育局研究决定，2024年春季学期义务教育阶段学校招生工作按照就近入学原则进行，报名时间为3月1日至3月10日，家长可通过区政务服务网办理。
"""


def leadership() -> Example:
    return {
        "text": LEADERSHIP_TEXT,
        "metadata": {
            "category": "leadership",
            "period": "2024-09-20",
            "leadership": {
                "leaders": [
                    {"name": "张伟", "post": "主任", "duties": "主持全面工作"},
                    {"name": "李娜", "post": "副主任", "duties": "负责招商引资、对口支援工作"},
                ]
            },
        },
        # 20 working days after 2024-09-20, counting the National Day holiday and the
        # adjusted working weekends 9月29日 and 10月12日: 2024-10-23.
        "received_on": date(2024, 10, 23),
    }


def organization() -> Example:
    return {
        "text": ORGANIZATION_TEXT,
        "metadata": {"category": "organization", "period": "2024-03-05"},
        "received_on": date(2024, 3, 20),
    }


def livelihood() -> Example:
    return {
        "text": LIVELIHOOD_TEXT,
        "metadata": {
            "category": "livelihood",
            "period": "2024-02-20",
            "title": "南开区2024年春季学期义务教育阶段学校招生工作安排",
            "livelihood": {"field": "教育"},
        },
        "received_on": date(2024, 2, 26),
    }


CHANGE_CASES = [
    ("leadership-valid", leadership, lambda e: e, set()),
    ("leadership-on-the-20th-working-day-after-national-day", leadership, lambda e: e, set()),
    ("leadership-one-working-day-late", leadership, _with(received_on=date(2024, 10, 24)), {("change_late", WARNING)}),
    ("leadership-no-leaders", leadership, _with(leadership__leaders=[]), {("leadership_leaders_missing", ERROR)}),
    ("leadership-no-details", leadership, _with(leadership=_DELETE), {("leadership_leaders_missing", ERROR)}),
    ("leadership-a-leader-without-duties", leadership, _with(leadership__leaders=[{"name": "张伟", "post": "主任"}]), {("leadership_field_missing", ERROR)}),
    ("leadership-a-leader-without-a-post", leadership, _with(leadership__leaders=[{"name": "张伟", "post": " ", "duties": "主持全面工作"}]), {("leadership_field_missing", ERROR)}),
    ("leadership-a-leader-not-in-the-document", leadership, _with(leadership__leaders=[{"name": "王强", "post": "主任", "duties": "主持全面工作"}]), {("leadership_name_not_in_document", WARNING)}),
    ("leadership-changed-after-it-was-received", leadership, _with(received_on=date(2024, 9, 19)), {("period_in_future", WARNING)}),
    ("leadership-a-mobile-in-the-metadata", leadership, _with(leadership__leaders=[{"name": "张伟", "post": "主任", "duties": "主持全面工作，电话13912345678"}]), {("pii_mobile", WARNING)}),
    ("organization-valid", organization, lambda e: e, set()),
    ("organization-items-in-the-metadata-instead", organization, _then(_text("办公时间：周一至周五 9:00—17:00\n", ""), _with(organization={"hours": "工作日 9:00—17:00"})), set()),
    ("organization-no-address", organization, _text("办公地址：天津市南开区红旗路1号\n", ""), {("organization_field_missing", ERROR)}),
    ("organization-no-hours", organization, _text("办公时间：周一至周五 9:00—17:00\n", ""), {("organization_field_missing", ERROR)}),
    ("organization-no-units", organization, _text("内设机构：办公室（负责文电、会务、财务）；协作科（负责对口支援）。\n", ""), {("organization_field_missing", ERROR)}),
    ("organization-a-unit-without-duties", organization, _with(organization={"units": [{"name": "办公室"}]}), {("organization_field_missing", ERROR)}),
    ("organization-phone-is-no-number", organization, _with(organization={"phone": "请拨打总机"}), {("organization_phone_invalid", ERROR)}),
    ("organization-late", organization, _with(received_on=date(2024, 4, 10)), {("change_late", WARNING)}),
    ("livelihood-valid", livelihood, lambda e: e, set()),
    ("livelihood-no-field", livelihood, _with(livelihood=_DELETE), {("livelihood_field_missing", ERROR)}),
    ("livelihood-unusual-field", livelihood, _with(livelihood__field="天文观测"), {("livelihood_field_unknown", WARNING)}),
    ("livelihood-no-body", livelihood, _text(LIVELIHOOD_TEXT.splitlines()[1], "详见附件。"), {("livelihood_body_missing", ERROR)}),
    ("livelihood-no-title", livelihood, _then(_with(title=None), _text("南开区2024年春季学期义务教育阶段学校招生工作安排\n", "")), {("livelihood_title_missing", ERROR)}),
    ("livelihood-late-after-spring-festival", livelihood, _with(period="2024-02-05", received_on=date(2024, 3, 11)), {("change_late", WARNING)}),
    ("livelihood-in-time-thanks-to-spring-festival", livelihood, _with(period="2024-02-05", received_on=date(2024, 3, 8)), set()),
    ("livelihood-in-a-year-without-a-calendar", livelihood, _with(period="2027-03-01", received_on=date(2027, 3, 5)), {("calendar_year_not_covered", WARNING)}),
]  # fmt: skip


# -- 政府信息公开工作年度报告: the text rules (the tables: test_annual_report_tables.py) --------------


def annual_report() -> Example:
    text = "\n".join(line for line in ANNUAL_REPORT_TEXT.splitlines() if not line.startswith("[表"))
    return {
        "text": text,
        "metadata": {
            "category": "gov_info_annual_report",
            "period": "2023",
            "annual_report": annual_report_tables(),
        },
        "received_on": date(2024, 1, 20),
    }


DISTRICT = Organisation(ORG_CODE, "天津市南开区人民政府", level=Level.DISTRICT_GOVERNMENT)

GIA_CASES = [
    ("valid", annual_report, lambda e: e, set()),
    ("no-title", annual_report, _text("南开区合作交流办2023年政府信息公开工作年度报告\n", ""), {("gia_title_missing", WARNING)}),
    ("title-year-2022", annual_report, _text("合作交流办2023年政府", "合作交流办2022年政府"), {("gia_title_year_mismatch", ERROR)}),
    ("no-overview", annual_report, _text("一、总体情况\n", ""), {("gia_missing_overview", WARNING)}),
    ("no-proactive", annual_report, _text("二、主动公开政府信息情况\n", ""), {("gia_missing_proactive", ERROR)}),
    ("no-requests", annual_report, _text("三、收到和处理政府信息公开申请情况\n", ""), {("gia_missing_requests", ERROR)}),
    ("no-review-litigation", annual_report, _text("四、政府信息公开行政复议、行政诉讼情况\n", ""), {("gia_missing_review_litigation", ERROR)}),
    ("no-problems", annual_report, _text("五、存在的主要问题及改进情况\n", ""), {("gia_missing_problems", ERROR)}),
    ("no-other-matters", annual_report, _text("六、其他需要报告的事项\n", ""), {("gia_missing_other", ERROR)}),
    ("department-after-31-january", annual_report, _with(received_on=date(2024, 2, 1)), {("gia_late", WARNING)}),
    ("district-government-by-31-march", annual_report, _with(received_on=date(2024, 3, 31), org=DISTRICT), set()),
    ("district-government-after-31-march", annual_report, _with(received_on=date(2024, 4, 1), org=DISTRICT), {("gia_late", WARNING)}),
    ("no-tables-anywhere", annual_report, _with(annual_report=_DELETE), {("gia_tables_not_checked", WARNING)}),
    ("narrative-says-7-requests", annual_report, _text("收到政府信息公开申请6件", "收到政府信息公开申请7件"), {("gia_narrative_mismatch", WARNING)}),
    ("narrative-says-2-reconsiderations", annual_report, _text("办理行政复议1件", "办理行政复议2件"), {("gia_narrative_mismatch", WARNING)}),
]  # fmt: skip


# -- 法治政府建设情况报告: what DOMAIN.md §2 adds to test_rule_of_law.py ------------------------

SAMPLE = SAMPLE_PATH.read_text("utf-8")


def rule_of_law() -> Example:
    return {
        "text": SAMPLE,
        "metadata": {"category": "rule_of_law_report", "period": "2023"},
        "received_on": date(2024, 1, 12),
    }


ROL_CASES = [
    ("valid", rule_of_law, lambda e: e, set()),
    ("a-fifth-item-is-optional", rule_of_law, _text("南开区合作交流办党组\n", "五、其他需要报告的情况\n无。\n南开区合作交流办党组\n"), set()),
    ("shortcomings-as-problems", rule_of_law, _text("存在的不足和原因", "存在的问题及原因"), set()),
    ("shortcomings-as-weak-points", rule_of_law, _text("存在的不足和原因", "存在的短板和差距"), set()),
    ("plans-as-work-intentions", rule_of_law, _text("推进法治政府建设的主要安排", "工作打算"), set()),
    ("plans-as-next-steps", rule_of_law, _text("推进法治政府建设的主要安排", "下一步工作安排"), set()),
    ("first-responsible-as-principal-comrade", rule_of_law, _then(_text("第一责任人职责", "主要负责同志履行职责"), _text("切实履行第一责任人责任", "切实履行主要负责同志责任"), _text("党风廉政建设“第一责任人”责任", "党风廉政建设主体责任")), set()),
    ("issued-by-the-party-group-of-an-alias", rule_of_law, _with(org=Organisation(ORG_CODE, "天津市南开区合作交流办公室", aliases=("南开区合作交流办",))), set()),
    ("joint-party-committee-and-government", rule_of_law, _then(_text("南开区合作交流办党组\n  2024年1月10日", "中共天津市南开区委员会\n天津市南开区人民政府\n2024年1月10日"), _with(org=Organisation(ORG_CODE, "天津市南开区人民政府", aliases=("南开区人民政府", "南开区政府")))), set()),
    ("addressee-line", rule_of_law, lambda e: {**e, "text": "唐山市人民政府：\n" + e["text"]}, set()),
    ("issuer-of-another-body", rule_of_law, _text("南开区合作交流办党组\n  2024年1月10日", "河西区商务局党组\n  2024年1月10日"), {("rol_issuer_mismatch", WARNING)}),
]  # fmt: skip


# -- the secrecy review, for every category bound for the portal ---------------------------

REVIEW = {"reviewer": "李明", "reviewed_on": "2024-01-11", "result": "同意公开"}
REVIEW_CASES = [
    ("with-a-review", rule_of_law, _with(review=REVIEW, require_review=True), set()),
    ("no-review", rule_of_law, _with(require_review=True), {("review_missing", ERROR)}),
    ("review-refuses", rule_of_law, _with(review={**REVIEW, "result": "不同意公开"}, require_review=True), {("review_not_approved", ERROR)}),
    ("reviewed-after-received", rule_of_law, _with(review={**REVIEW, "reviewed_on": "2024-02-01"}, require_review=True), {("review_date_in_future", WARNING)}),
    ("not-bound-for-the-portal", rule_of_law, _with(require_review=False), set()),
    ("budget-without-review", final_accounts, _with(require_review=True), {("review_missing", ERROR)}),
    ("leadership-without-review", leadership, _with(require_review=True), {("review_missing", ERROR)}),
]  # fmt: skip

CASES = [
    *(("budget", *c) for c in BUDGET_CASES),
    *(("change", *c) for c in CHANGE_CASES),
    *(("gov_info", *c) for c in GIA_CASES),
    *(("rule_of_law", *c) for c in ROL_CASES),
    *(("review", *c) for c in REVIEW_CASES),
]


@pytest.mark.parametrize(
    ("example", "mutate", "expected"),
    [c[2:] for c in CASES],
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_a_rule_yields_exactly_its_code(
    example: Callable[[], Example],
    mutate: Callable[[Example], Example],
    expected: set[tuple[str, Severity]],
) -> None:
    assert _codes(mutate(example())) == expected


@pytest.mark.parametrize("category", list(Category))
def test_every_category_has_a_valid_example_and_rules_that_fail(category: Category) -> None:
    examples = [c for c in CASES if c[2]()["metadata"]["category"] == category.value]
    assert any(not c[4] for c in examples), "a valid example"
    assert any(c[4] for c in examples), "a failing example"


def test_a_late_final_accounts_names_the_deadline() -> None:
    (finding,) = _findings(_with(received_on=date(2024, 9, 2))(final_accounts()))
    assert finding.code == "budget_late"
    assert "2024-08-30" in finding.message_zh and "20" in finding.message_zh


def test_a_missing_table_is_named() -> None:
    (finding,) = _findings(_text("三、支出决算表\n", "")(final_accounts()))
    assert "“支出决算表”" in finding.message_zh


# Table titles as real bodies write them (DOMAIN.md §4): matched by their core terms.
REAL_FINAL_ACCOUNTS_TITLES = [
    ("一、收入支出决算总表", "表1 南开区合作交流办2023年度收入决算总表"),
    ("一、收入支出决算总表", "附件1：2023年度部门收支决算总表"),
    ("二、收入决算表", "表2 收入决算表（单位：万元）"),
    ("三、支出决算表", "3.2023年度单位支出决算表"),
    ("四、财政拨款收入支出决算总表", "表4 财政拨款收支决算总表"),
    ("五、一般公共预算财政拨款支出决算表", "五、一般公共预算支出决算表"),
    ("六、一般公共预算财政拨款基本支出决算表", "六、一般公共预算财政拨款基本支出决算明细表"),
    ("七、一般公共预算财政拨款“三公”经费支出决算表", "七、“三公”经费及会议费、培训费支出决算表"),
    (
        "七、一般公共预算财政拨款“三公”经费支出决算表",
        "七、一般公共预算财政拨款‘三公’经费支出决算表",
    ),
    ("八、政府性基金预算财政拨款收入支出决算表", "八、政府性基金预算财政拨款支出决算表"),
    ("九、国有资本经营预算财政拨款支出决算表", "九、国有资本经营预算财政拨款收入支出决算表"),
]
REAL_BUDGET_TITLES = [
    ("一、部门收支总表", "表1 2024年南开区合作交流办收支预算总表"),
    ("二、部门收入总表", "表2 部门收入预算总表"),
    ("三、部门支出总表", "表3 单位支出预算总表"),
    ("四、财政拨款收支总表", "表4 财政拨款收支预算总表"),
    ("五、一般公共预算支出表", "表5 一般公共预算财政拨款支出预算表"),
    ("七、一般公共预算“三公”经费支出表", "表7 一般公共预算“三公”经费支出预算表"),
]


@pytest.mark.parametrize(("official", "real"), REAL_FINAL_ACCOUNTS_TITLES + REAL_BUDGET_TITLES)
def test_a_table_titled_as_a_real_body_titles_it_is_found(official: str, real: str) -> None:
    example = final_accounts if (official, real) in REAL_FINAL_ACCOUNTS_TITLES else budget
    assert _codes(_text(official, real)(example())) == set()


@pytest.mark.parametrize(
    ("official", "other"),
    [
        ("一、收入支出决算总表", "一、财政拨款收入支出决算表"),
        ("三、支出决算表", "三、一般公共预算财政拨款支出决算表"),
        ("二、部门收入总表", "二、财政拨款收入总表"),
    ],
)
def test_a_similar_title_of_another_table_does_not_stand_in_for_it(
    official: str, other: str
) -> None:
    assert ("budget_table_missing", WARNING) in _codes(
        _text(official, other)(final_accounts() if "决算" in official else budget())
    )


def test_the_budget_delay_is_configuration() -> None:
    rules = ValidationRules(budget_publish_days=30)
    assert _codes(_with(received_on=date(2024, 9, 9))(final_accounts()), rules) == set()


def test_a_leader_field_finding_names_the_leader_and_field() -> None:
    example = _with(leadership__leaders=[{"name": "张伟", "post": "主任", "duties": "主持全面工作"}, {"name": "李娜", "post": "副主任"}])(leadership())  # fmt: skip
    (finding,) = _findings(example)
    assert finding.where == "metadata.leadership.leaders[1].duties"
    assert finding.message_zh == "第2位领导缺少“分工”"


def test_a_late_change_counts_working_days_not_weekdays() -> None:
    # Weekdays alone would make 2024-10-18 the 20th day after 2024-09-20.
    assert _codes(_with(received_on=date(2024, 10, 21))(leadership())) == set()


def test_the_working_day_delay_is_configuration() -> None:
    rules = ValidationRules(change_publish_working_days=5)
    assert _codes(leadership(), rules) == {("change_late", WARNING)}


def test_a_district_governments_deadline_is_configuration() -> None:
    rules = ValidationRules(gov_info_deadline_district_government=(2, 29))
    example = _with(received_on=date(2024, 3, 1), org=DISTRICT)(annual_report())
    assert _codes(example, rules) == {("gia_late", WARNING)}


# -- property-based: any paragraphs and any tables validate without raising ----------------

_CELL = st.one_of(st.none(), st.just(""), st.just("/"), st.integers(0, 1000))
_ROW = st.fixed_dictionaries({}, optional={k: _CELL for k in (
    "natural_person", "commercial_enterprise", "research_institution",
    "social_welfare_organization", "legal_service_agency", "other_organization", "total",
)})  # fmt: skip
_GROUP = st.fixed_dictionaries(
    {}, optional={k: _CELL for k in ("upheld", "corrected", "other", "pending", "total")}
)
_TABLES = st.fixed_dictionaries(
    {},
    optional={
        "table3": st.fixed_dictionaries(
            {},
            optional={
                "new_received": _ROW,
                "carried_over": _ROW,
                "disclosed": _ROW,
                "withheld": st.lists(_ROW, max_size=8),
                "other_handling": st.lists(_ROW, max_size=3),
                "total": _ROW,
                "carried_forward": _ROW,
            },
        ),
        "table4": st.fixed_dictionaries({}, optional={"reconsideration": _GROUP}),
        "table2": st.fixed_dictionaries(
            {},
            optional={
                "rules": st.fixed_dictionaries({}, optional={"issued": _CELL, "made": _CELL})
            },
        ),
    },
)


def _metadata_text(**kwargs: Any) -> st.SearchStrategy[str]:
    """Any text metadata may hold: none with a control character (the model refuses it)."""
    return st.text(st.characters(exclude_categories=("Cs", "Cc")), **kwargs)


_DETAILS = {
    Category.GOV_INFO_ANNUAL_REPORT: ("annual_report", _TABLES),
    Category.LEADERSHIP: (
        "leadership",
        st.fixed_dictionaries(
            {
                "leaders": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "name": _metadata_text(max_size=5),
                            "duties": _metadata_text(max_size=20),
                        },
                    ),
                    max_size=3,
                )
            }
        ),
    ),
    Category.ORGANIZATION: (
        "organization",
        st.fixed_dictionaries(
            {},
            optional={
                "phone": _metadata_text(max_size=20),
                "units": st.lists(
                    st.fixed_dictionaries({}, optional={"name": _metadata_text(max_size=5)}),
                    max_size=2,
                ),
            },
        ),
    ),
    Category.BUDGET_FINAL_ACCOUNTS: (
        "budget",
        st.fixed_dictionaries(
            {},
            optional={
                "kind": st.sampled_from(["budget", "final_accounts"]),
                "approved_on": st.dates().map(str),
            },
        ),
    ),
    Category.LIVELIHOOD: (
        "livelihood",
        st.fixed_dictionaries({}, optional={"field": _metadata_text(max_size=10)}),
    ),
}


@st.composite
def _filings(draw: st.DrawFn) -> tuple[FilingMetadata, Document, date]:
    category = draw(st.sampled_from(list(Category)))
    data: dict[str, Any] = {
        "category": category.value,
        "org_code": ORG_CODE,
        "org_name": ORG_NAME,
        "period": draw(
            st.sampled_from(["2019", "2020", "2023", "2024-02-29", "2027-12-31", "0001"])
        ),
    }
    if category in _DETAILS:
        name, strategy = _DETAILS[category]
        data[name] = draw(strategy)
    paragraphs = draw(
        st.lists(st.text(max_size=60).map(str.strip).filter(bool), min_size=1, max_size=20)
    )
    document = Document("txt", "text/plain; charset=utf-8", tuple(paragraphs))
    return (
        FilingMetadata.model_validate(data),
        document,
        draw(st.dates(date(2000, 1, 1), date(2100, 1, 1))),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_filings())
def test_any_filing_of_any_category_validates_without_raising(
    filing: tuple[FilingMetadata, Document, date],
) -> None:
    metadata, document, received_on = filing
    result = validate_filing(
        document,
        metadata,
        None,
        content_rule=content_rule(metadata),
        received_on=received_on,
        require_review=True,
    )
    assert all(f.code and f.message_zh and f.where for f in result.findings)

import itertools
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.categories import content_rule
from service.domain.filing import Category
from service.domain.findings import Finding, Severity
from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation
from service.validation import (
    Document,
    ValidationRules,
    read_document_bytes,
    validate_filing,
)
from tests.support.documents import SAMPLE_PATH, docx_from_text, pdf_from_text

SAMPLE = SAMPLE_PATH.read_text("utf-8")
ORG_CODE = "11620300013909010R"
RECEIVED = date(2024, 1, 12)
TITLE_1 = "南开区合作交流办党组2023年度法治政府建设"
TITLE_2 = "情况报告"
ISSUER = "南开区合作交流办党组"
DATE = "2024年1月10日"
HEADINGS = ("一、2023年", "二、2023年", "三、2023年", "四、2024年")

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _metadata(
    category: Category = Category.RULE_OF_LAW_REPORT,
    period: str = "2023",
    org_name: str = "南开区合作交流办",
    org_code: str = ORG_CODE,
) -> FilingMetadata:
    return FilingMetadata(category=category, org_code=org_code, org_name=org_name, period=period)


def _document(text: str) -> Document:
    return Document("txt", "text/plain; charset=utf-8", tuple(_lines(text)))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _validate(
    text: str,
    metadata: FilingMetadata | None = None,
    org: Organisation | None = None,
    received_on: date = RECEIVED,
    rules: ValidationRules | None = None,
) -> list[Finding]:
    result = validate_filing(
        _document(text),
        metadata or _metadata(),
        org,
        content_rule=content_rule(metadata or _metadata()),
        received_on=received_on,
        rules=rules or ValidationRules(),
    )
    return result.findings


def _summary(findings: list[Finding]) -> set[tuple[str, Severity]]:
    return {(f.code, f.severity) for f in findings}


# -- mutating the sample --------------------------------------------------------------


def _sections(text: str) -> tuple[list[str], list[list[str]], list[str]]:
    """(lines before part 一, [part 一 … part 四], closing lines)."""
    lines = _lines(text)
    starts = [next(i for i, line in enumerate(lines) if line.startswith(h)) for h in HEADINGS]
    closing = lines.index(ISSUER)
    bounds = [*starts, closing]
    parts = [lines[a:b] for a, b in itertools.pairwise(bounds)]
    return lines[: starts[0]], parts, lines[closing:]


def _without_part(n: int) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        head, parts, closing = _sections(text)
        kept = [line for i, part in enumerate(parts) if i != n for line in part]
        return "\n".join([*head, *kept, *closing])

    return mutate


def _reordered(text: str) -> str:
    head, parts, closing = _sections(text)
    order = [parts[2], parts[3], parts[0], parts[1]]
    return "\n".join([*head, *(line for part in order for line in part), *closing])


def _replace(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert old in text
        return text.replace(old, new)

    return mutate


def _insert_after(anchor: str, extra: str) -> Callable[[str], str]:
    return _replace(anchor, f"{anchor}\n{extra}")


def _then(*mutations: Callable[[str], str]) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        for mutation in mutations:
            text = mutation(text)
        return text

    return mutate


def _thematic_headings(text: str) -> str:
    lines = _lines(text)
    themes = {
        "一、": "一年来的主要举措和成效",
        "二、": "存在的不足和原因",
        "三、": "主要负责人履职情况",
        "四、": "2024年工作打算",
    }
    return "\n".join(
        next((t for m, t in themes.items() if line.startswith(m + "20")), line) for line in lines
    )


def _markdown(text: str) -> str:
    lines = _lines(text)
    return "\n\n".join(
        f"## {line}" if line[:2] in ("一、", "二、", "三、", "四、") else line for line in lines
    ).replace(TITLE_1, f"# {TITLE_1}")


MUTANTS: list[tuple[str, Callable[[str], str], set[tuple[str, Severity]]]] = [
    # each required part removed, heading and content
    ("no-measures", _without_part(0), {("rol_missing_measures", ERROR)}),
    ("no-shortcomings", _without_part(1), {("rol_missing_shortcomings", ERROR)}),
    ("no-first-responsible", _without_part(2), {("rol_missing_first_responsible", ERROR)}),
    ("no-next-year-plan", _without_part(3), {("rol_missing_next_year_plan", ERROR)}),
    (
        "no-shortcomings-but-the-word-problem-everywhere",
        _then(
            _without_part(1),
            _insert_after("一、2023年推进法治政府建设的主要举措和成效", "（五）解决群众反映的突出问题"),
            _insert_after("四、2024年推进法治政府建设的主要安排", "着力解决存在问题，补齐工作成效。"),
        ),
        {("rol_missing_shortcomings", ERROR)},
    ),
    (
        "no-measures-but-future-measures",
        _then(_without_part(0), _replace("主要安排", "工作举措")),
        {("rol_missing_measures", ERROR)},
    ),
    # the title
    ("title-year-2022", _replace(TITLE_1, TITLE_1.replace("2023", "2022")), {("rol_title_year_mismatch", ERROR)}),
    ("no-title", _replace(f"{TITLE_1}\n\n{TITLE_2}", ""), {("rol_title_missing", ERROR)}),
    ("title-guanyu-de-form", _replace(f"{TITLE_1}\n\n{TITLE_2}", f"{ISSUER}关于2023年度法治政府建设\n情况的报告"), set()),
    ("title-guanyu-first", _replace(f"{TITLE_1}\n\n{TITLE_2}", "关于2023年法治政府建设工作情况的报告"), set()),
    ("title-year-first", _replace(f"{TITLE_1}\n\n{TITLE_2}", "2023年度南开区合作交流办推进法治政府建设情况报告"), set()),
    ("title-year-last", _replace(f"{TITLE_1}\n\n{TITLE_2}", "南开区合作交流办法治政府建设情况报告（2023年度）"), set()),
    ("title-year-last-wrong", _replace(f"{TITLE_1}\n\n{TITLE_2}", "南开区合作交流办法治政府建设情况报告（2022年度）"), {("rol_title_year_mismatch", ERROR)}),
    ("title-without-year", _replace(f"{TITLE_1}\n\n{TITLE_2}", "南开区合作交流办法治政府建设情况报告"), {("rol_title_missing", ERROR)}),
    ("title-on-one-line", _replace(f"{TITLE_1}\n\n{TITLE_2}", TITLE_1 + TITLE_2), set()),
    ("title-on-three-lines", _replace(TITLE_1, "南开区合作交流办党组\n2023年度法治政府建设"), set()),
    ("title-year-in-chinese-numerals", _replace(TITLE_1, TITLE_1.replace("2023", "二〇二三")), set()),
    ("addressee-opens-the-report", lambda t: "唐山市人民政府：\n" + t, set()),
    ("addressee-after-the-title", _insert_after(TITLE_2, "区委、区政府："), set()),
    # headings and their years
    ("items-reordered", _reordered, set()),
    ("thematic-headings", _thematic_headings, set()),
    ("markdown-headings", _markdown, set()),
    (
        "first-responsible-as-a-sub-item-of-part-one",
        _then(
            _without_part(2),
            _insert_after("一、2023年推进法治政府建设的主要举措和成效", "（一）履行推进法治建设第一责任人职责"),
        ),
        set(),
    ),
    ("plan-heading-names-2025", _replace("四、2024年", "四、2025年"), {("rol_plan_year_mismatch", ERROR)}),
    ("part-one-heading-names-2022", _replace("一、2023年", "一、2022年"), {("rol_heading_year_mismatch", ERROR)}),
    ("part-heading-names-a-span", _replace("一、2023年", "一、2021—2025年"), set()),
    # the closing date
    ("no-date", _replace(DATE, ""), {("rol_date_missing", ERROR)}),
    ("date-before-year-end", _replace(DATE, "2023年12月1日"), {("rol_date_before_period_end", ERROR)}),
    ("date-on-the-last-day-of-the-year", _replace(DATE, "2023年12月31日"), {("rol_date_before_period_end", ERROR)}),
    ("date-in-chinese-numerals", _replace(DATE, "二〇二四年一月十日"), set()),
    ("date-with-circle-zero", _replace(DATE, "二○二四年一月十日"), set()),
    ("date-late", _replace(DATE, "2024年5月6日"), {("rol_late", WARNING)}),
    ("date-on-the-deadline", _replace(DATE, "2024年3月31日"), set()),
    ("date-not-on-the-calendar", _replace(DATE, "2024年2月30日"), {("rol_date_invalid", ERROR)}),
    ("note-after-the-date", lambda t: t + "\n（此件公开发布）", set()),
    ("issuer-and-date-on-one-line", _replace(f"{ISSUER}\n  {DATE}", f"{ISSUER}  {DATE}"), set()),
    # the issuer
    ("issuer-mismatch", _replace(f"{ISSUER}\n  {DATE}", f"河西区商务局党组\n  {DATE}"), {("rol_issuer_mismatch", WARNING)}),
    ("issuer-short-form", _replace(f"{ISSUER}\n  {DATE}", f"合作交流办党组\n  {DATE}"), set()),
    ("issuer-with-party-prefix", _replace(f"{ISSUER}\n  {DATE}", f"中共{ISSUER}\n  {DATE}"), set()),
    ("no-issuer", _replace(f"{ISSUER}\n  {DATE}", f"  {DATE}"), {("rol_issuer_missing", WARNING)}),
    ("no-issuer-and-no-date", _replace(f"{ISSUER}\n  {DATE}", ""), {("rol_date_missing", ERROR), ("rol_issuer_missing", WARNING)}),
    ("special-closing-phrase-is-no-issuer", _replace(f"{ISSUER}\n  {DATE}", "特此报告"), {("rol_date_missing", ERROR), ("rol_issuer_missing", WARNING)}),
]  # fmt: skip


def test_sample_report_passes_clean() -> None:
    result = validate_filing(
        _document(SAMPLE),
        _metadata(),
        None,
        content_rule=content_rule(_metadata()),
        received_on=RECEIVED,
    )
    assert result.findings == []
    assert result.title == "南开区合作交流办党组2023年度法治政府建设情况报告"


@pytest.mark.parametrize(
    "org",
    [
        Organisation(ORG_CODE, "天津市南开区合作交流办公室", aliases=("南开区合作交流办",)),
        Organisation(ORG_CODE, "南开区合作交流办公室"),
        Organisation(ORG_CODE, "南开区合作交流办", aliases=("南开区合作交流办党组",)),
    ],
    ids=["alias", "short-form-of-the-name", "party-group-alias"],
)
def test_sample_report_passes_clean_against_a_registered_body(org: Organisation) -> None:
    metadata = _metadata(org_name=org.name)
    assert _validate(SAMPLE, metadata, org) == []


@pytest.mark.parametrize(
    ("mutate", "expected"), [m[1:] for m in MUTANTS], ids=[m[0] for m in MUTANTS]
)
def test_a_mutant_of_the_sample_yields_exactly_its_findings(
    mutate: Callable[[str], str], expected: set[tuple[str, Severity]]
) -> None:
    findings = _validate(mutate(SAMPLE))
    assert _summary(findings) == expected
    assert all(f.where and f.message_zh and f.message_en for f in findings)
    assert all(f.excerpt is None or len(f.excerpt) <= 40 for f in findings)


def test_a_missing_part_is_reported_once_for_the_whole_text() -> None:
    findings = _validate(_without_part(1)(SAMPLE))
    assert [(f.code, f.where) for f in findings] == [("rol_missing_shortcomings", "正文")]


def test_a_wrong_plan_year_names_the_paragraph_and_quotes_the_heading() -> None:
    (finding,) = _validate(_replace("四、2024年", "四、2025年")(SAMPLE))
    assert finding.where == "第10段"
    assert finding.excerpt is not None and finding.excerpt.startswith("四、2025年")


def test_a_wrong_title_year_quotes_the_title() -> None:
    (finding,) = _validate(_replace(TITLE_1, TITLE_1.replace("2023", "2022"))(SAMPLE))
    assert (finding.where, finding.excerpt) == (
        "标题",
        "南开区合作交流办党组2022年度法治政府建设情况报告",
    )


def test_a_late_report_warns_on_its_date() -> None:
    (finding,) = _validate(_replace(DATE, "2024年5月6日")(SAMPLE))
    assert (finding.where, finding.excerpt) == ("落款", "2024年5月6日")


def test_receiving_after_the_deadline_warns_and_says_so() -> None:
    findings = _validate(SAMPLE, received_on=date(2024, 4, 1))
    assert [(f.code, f.severity, f.where) for f in findings] == [("rol_late", WARNING, "报送日期")]
    assert "报送日期" in findings[0].message_zh


def test_the_deadline_is_configuration() -> None:
    findings = _validate(SAMPLE, rules=ValidationRules(rule_of_law_deadline=(1, 5)))
    assert {(f.code, f.where) for f in findings} == {("rol_late", "落款"), ("rol_late", "报送日期")}


def test_a_deadline_on_29_february_falls_back_to_the_28th_in_a_common_year() -> None:
    rules = ValidationRules(rule_of_law_deadline=(2, 29))
    assert rules.rule_of_law_due(2023) == date(2024, 2, 29)
    assert rules.rule_of_law_due(2024) == date(2025, 2, 28)


def test_a_joint_signature_matches_either_body() -> None:
    text = _replace(f"{ISSUER}\n  {DATE}", f"中共南开区委员会\n南开区人民政府\n{DATE}")(SAMPLE)
    assert _validate(text, _metadata(org_name="南开区人民政府")) == []


def test_without_a_registered_body_the_issuer_is_matched_against_the_metadata_name() -> None:
    findings = _validate(SAMPLE, _metadata(org_name="河西区商务局"))
    assert _summary(findings) == {("rol_issuer_mismatch", WARNING)}


# -- the same report as DOCX and PDF ----------------------------------------------------


@pytest.mark.parametrize(
    ("build", "filename"),
    [(docx_from_text, "报告.docx"), (pdf_from_text, "报告.pdf")],
    ids=["docx", "pdf"],
)
def test_the_sample_as_docx_or_pdf_validates_exactly_like_the_text(
    build: Callable[[str], bytes], filename: str
) -> None:
    document, read_findings = read_document_bytes(build(SAMPLE), filename)
    assert read_findings == []
    assert document is not None and document.paragraphs
    assert not any("\x00" in p or "(cid:" in p for p in document.paragraphs)
    result = validate_filing(
        document, _metadata(), None, content_rule=content_rule(_metadata()), received_on=RECEIVED
    )
    assert result.findings == _validate(SAMPLE) == []
    assert result.title == "南开区合作交流办党组2023年度法治政府建设情况报告"


@pytest.mark.parametrize(
    "mutant", ["no-first-responsible", "title-year-2022", "date-late", "issuer-mismatch"]
)
def test_a_mutant_as_pdf_yields_the_same_findings_as_its_text(mutant: str) -> None:
    mutate = next(m[1] for m in MUTANTS if m[0] == mutant)
    text = mutate(SAMPLE)
    document, _ = read_document_bytes(pdf_from_text(text), "报告.pdf")
    assert document is not None
    findings = validate_filing(
        document, _metadata(), None, content_rule=content_rule(_metadata()), received_on=RECEIVED
    ).findings
    assert _summary(findings) == _summary(_validate(text)) != set()


# -- metadata, for every category --------------------------------------------------------


def test_an_invalid_org_code_is_an_error() -> None:
    findings = _validate(SAMPLE, _metadata(org_code="11620300013909010Q"))
    assert [(f.code, f.where) for f in findings] == [("org_code_invalid", "metadata.org_code")]


@pytest.mark.parametrize(
    ("category", "period"),
    [
        (Category.RULE_OF_LAW_REPORT, "2023-01-01"),
        (Category.GOV_INFO_ANNUAL_REPORT, "0999"),
        (Category.BUDGET_FINAL_ACCOUNTS, "9999"),
        (Category.LEADERSHIP, "2024"),
        (Category.ORGANIZATION, "2024-02-30"),
        (Category.LIVELIHOOD, "2024-13-01"),
    ],
)
def test_a_period_of_the_wrong_shape_for_its_category_is_invalid(
    category: Category, period: str
) -> None:
    findings = _validate(SAMPLE, _metadata(category=category, period=period))
    assert ("period_invalid", ERROR) in _summary(findings)
    assert next(f for f in findings if f.code == "period_invalid").where == "metadata.period"


def test_with_an_invalid_period_the_year_checks_are_skipped_not_crashed() -> None:
    findings = _validate(SAMPLE, _metadata(period="9999"))
    assert _summary(findings) == {("period_invalid", ERROR)}


@pytest.mark.parametrize(
    ("category", "period"),
    [
        (Category.GOV_INFO_ANNUAL_REPORT, "2023"),
        (Category.BUDGET_FINAL_ACCOUNTS, "2023"),
        (Category.LEADERSHIP, "2024-03-05"),
        (Category.ORGANIZATION, "2024-03-05"),
        (Category.LIVELIHOOD, "2024-02-29"),
    ],
)
def test_other_categories_get_their_own_rules_not_the_rule_of_law_reports(
    category: Category, period: str
) -> None:
    result = validate_filing(
        _document("随便什么内容"),
        _metadata(category=category, period=period),
        None,
        content_rule=content_rule(_metadata(category=category, period=period)),
        received_on=RECEIVED,
    )
    assert result.findings  # each kind's content rules (tests/unit/test_category_rules.py)
    assert not [f for f in result.findings if f.code.startswith(("rol_", "period_invalid"))]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=30), st.sampled_from(["2023", "2024-01-01", "0001"]))
def test_any_paragraphs_validate_without_raising(paragraphs: list[str], period: str) -> None:
    document = Document(
        "txt", "text/plain; charset=utf-8", tuple(p.strip() for p in paragraphs if p.strip())
    )
    result = validate_filing(
        document,
        _metadata(period=period),
        None,
        content_rule=content_rule(_metadata(period=period)),
        received_on=RECEIVED,
    )
    assert all(
        f.code.startswith(("rol_", "period_", "org_", "pii_", "secret_")) for f in result.findings
    )

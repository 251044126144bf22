"""The personal-data and secrecy scan: what it finds in body text and in table cells,
what it must leave alone, and that its excerpts never show a number in full."""

from __future__ import annotations

import io
import re
from datetime import date

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.categories import content_rule
from service.domain.findings import Finding, Severity
from service.domain.metadata import FilingMetadata
from service.validation import read_document_bytes, validate_filing
from service.validation.scan import Text, luhn, scan, valid_id_18
from tests.support.documents import SAMPLE_PATH

ORG_CODE = "11620300013909010R"
SAMPLE = SAMPLE_PATH.read_text("utf-8")
ERROR, WARNING = Severity.ERROR, Severity.WARNING


def id_number(first17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return (
        first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]
    )


def card_number(first: str) -> str:
    """`first` plus the Luhn check digit."""
    return next(first + d for d in "0123456789" if luhn(first + d))


VALID_ID = id_number("12010419850312002")  # 天津市南开区, born 1985-03-12
WRONG_CHECK = VALID_ID[:17] + ("0" if VALID_ID[17] != "0" else "1")
OLD_ID = "120104850312002"  # 15 digits, born 1985-03-12
CARD = card_number("622202123456789012")  # 19 digits, UnionPay
NOT_A_CARD = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
MOBILE = "13912345678"


def _codes(findings: list[Finding]) -> set[tuple[str, Severity]]:
    return {(f.code, f.severity) for f in findings}


def _scan(text: str) -> list[Finding]:
    return scan([Text(text, "第1段")], own_codes=[ORG_CODE], personal=True)


FOUND = [
    ("id-number", f"当事人身份证号码为{VALID_ID}。", {("pii_id_number", ERROR)}),
    ("id-number-with-lower-case-x", f"号码{id_number('11010519491231002')}".lower(), {("pii_id_number", ERROR)}),
    ("old-15-digit-id", f"旧身份证{OLD_ID}", {("pii_id_number", ERROR)}),
    ("full-width-id", f"号码{VALID_ID.translate(str.maketrans('0123456789', '０１２３４５６７８９'))}", {("pii_id_number", ERROR)}),
    ("mobile-alone", f"咨询电话{MOBILE}", {("pii_mobile", WARNING)}),
    ("mobile-with-dashes", "咨询：139-1234-5678", {("pii_mobile", WARNING)}),
    ("mobile-with-spaces-and-86", "咨询：+86 139 1234 5678", {("pii_mobile", WARNING)}),
    ("mobile-near-a-name", f"联系人：王某，{MOBILE}", {("pii_mobile_personal", ERROR)}),
    ("mobile-near-an-address", f"家庭住址为某小区，电话{MOBILE}", {("pii_mobile_personal", ERROR)}),
    ("mobile-near-an-id-number", f"{VALID_ID}，{MOBILE}", {("pii_id_number", ERROR), ("pii_mobile_personal", ERROR)}),
    ("bank-card", f"退款至银行卡{CARD}", {("pii_bank_card", ERROR)}),
    ("bank-card-in-groups", "卡号" + " ".join(re.findall(".{1,4}", CARD)), {("pii_bank_card", ERROR)}),
    ("secret-star", "秘密★1年", {("secret_classified_marking", ERROR)}),
    ("top-secret-star-with-space", "绝密 ★", {("secret_classified_marking", ERROR)}),
    ("classification-line", "密级：机密", {("secret_classified_marking", ERROR)}),
    ("internal-material", "内部资料 注意保存", {("secret_internal_marking", ERROR)}),
    ("internal-use", "（仅限内部使用）", {("secret_internal_marking", ERROR)}),
]  # fmt: skip

NOT_FOUND = [
    ("masked-id", "身份证号110105********002X"),
    ("wrong-check-digit", f"编号{WRONG_CHECK}"),
    ("office-landline", "办公电话：022-23456789，传真022-23456780"),
    ("landline-without-dash", "电话02223456789"),
    ("own-uscc", f"统一社会信用代码：{ORG_CODE}"),
    ("own-index-number", f"索引号：{ORG_CODE}/2024-00012"),
    ("all-digit-uscc-of-the-body", "代码111201990000123458"),
    ("not-luhn", f"编号{NOT_A_CARD}"),
    ("a-pdf-table-row-of-single-digits", "4 1 0 0 1 0 6 1 0 0 0 0 0 1 2 1"),
    ("a-date-and-amount", "2024年1月10日支出1234567.89元"),
    ("public-disclosure-level", "密级：公开"),
    ("internal-units", "内设机构：办公室；属于三类内部事务信息的不予公开"),
    ("star-rating", "服务评价★★★★★"),
    ("hotline", "服务热线12345"),
]


@pytest.mark.parametrize(("text", "expected"), [f[1:] for f in FOUND], ids=[f[0] for f in FOUND])
def test_the_scan_finds(text: str, expected: set[tuple[str, Severity]]) -> None:
    findings = _scan(text)
    assert _codes(findings) == expected
    assert all(f.where == "第1段" and f.excerpt for f in findings)


@pytest.mark.parametrize("text", [f[1] for f in NOT_FOUND], ids=[f[0] for f in NOT_FOUND])
def test_the_scan_leaves_alone(text: str) -> None:
    assert _scan(text) == []


def test_the_check_digits_used_in_these_tests_are_what_they_claim() -> None:
    assert valid_id_18(VALID_ID) and not valid_id_18(WRONG_CHECK)
    assert luhn(CARD) and not luhn(NOT_A_CARD)


def test_excerpts_are_masked_and_never_show_a_number_in_full() -> None:
    text = f"联系人张某，身份证{VALID_ID}，手机{MOBILE}，银行卡{CARD}。秘密★"
    findings = _scan(text)
    assert len(findings) == 4
    for f in findings:
        assert f.excerpt is not None and len(f.excerpt) <= 40
        for secret in (VALID_ID, MOBILE, CARD):
            assert secret not in f.excerpt
        assert not re.search(r"\d{7,}", f.excerpt)
    excerpts = {f.code: f.excerpt for f in findings}
    assert "120104********" in (excerpts["pii_id_number"] or "")
    assert "139****5678" in (excerpts["pii_mobile_personal"] or "")


def test_personal_data_is_looked_for_only_when_bound_for_the_public_secrecy_always() -> None:
    text = f"身份证{VALID_ID} 秘密★"
    found = scan([Text(text, "x")], own_codes=[], personal=False)
    assert _codes(found) == {("secret_classified_marking", ERROR)}


def test_many_hits_are_capped_with_a_warning() -> None:
    texts = [Text(f"咨询电话{MOBILE}", f"第{i}段") for i in range(60)]
    findings = scan(texts, own_codes=[], personal=True)
    assert len([f for f in findings if f.code == "pii_mobile"]) == 50
    assert [f.code for f in findings][-1] == "scan_truncated"


# -- planted in a real document: body text and a table cell ------------------------------


def _planted_docx() -> bytes:
    word = docx.Document()
    for line in SAMPLE.splitlines()[:6]:
        word.add_paragraph(line)
    word.add_paragraph(f"经查，申请人身份证号码{VALID_ID}，退款账户{CARD}。")
    word.add_paragraph(f"如有疑问请拨打{MOBILE}。（秘密★1年）")
    word.add_paragraph("办公电话：022-23456789")
    table = word.add_table(rows=4, cols=3)
    for c, text in enumerate(("姓名", "联系电话", "备注")):
        table.cell(0, c).text = text
    table.cell(1, 0).text = "王某"
    table.cell(1, 1).text = MOBILE
    table.cell(1, 2).text = "秘密★1年"
    table.cell(2, 0).text = "身份证"
    table.cell(2, 1).text = VALID_ID
    table.cell(2, 2).text = "110105********002X"
    table.cell(3, 0).text = "退款账户"
    table.cell(3, 1).text = CARD
    for line in SAMPLE.splitlines()[6:]:
        word.add_paragraph(line)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_planted_personal_data_and_markings_are_found_in_body_text_and_table_cells() -> None:
    document, read = read_document_bytes(_planted_docx(), "报告.docx")
    assert read == [] and document is not None
    metadata = FilingMetadata(
        category="rule_of_law_report", org_code=ORG_CODE, org_name="南开区合作交流办", period="2023"
    )
    findings = validate_filing(
        document, metadata, None, content_rule=content_rule(metadata), received_on=date(2024, 1, 12)
    ).findings
    found = sorted((f.code, f.where) for f in findings)
    assert "办公电话" in document.paragraphs[5]  # the landline next to them is no finding
    assert found == sorted(
        [
            ("pii_id_number", "第4段"),
            ("pii_bank_card", "第4段"),
            ("pii_mobile", "第5段"),  # no name near it: maybe an office's, a warning
            ("secret_classified_marking", "第5段"),
            (
                "pii_mobile_personal",
                "表格1第2行第2列",
            ),  # its column is headed 联系电话, its row 王某 under 姓名
            ("secret_classified_marking", "表格1第2行第3列"),
            ("pii_id_number", "表格1第3行第2列"),
            ("pii_bank_card", "表格1第4行第2列"),
        ]
    )


# -- property-based: any text gives findings or nothing, never an exception --------------

_DIGITS_AND_WORDS = st.text(
    alphabet=st.sampled_from(
        list("0123456789 -+*Xx★密级秘绝机内部资料使用姓名联系人住址身份证：，。")
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), _DIGITS_AND_WORDS), st.booleans())
def test_any_text_scans_without_raising_and_excerpts_stay_short(text: str, personal: bool) -> None:
    findings = scan(
        [Text(text, "第1段", context=text[:20])], own_codes=[ORG_CODE], personal=personal
    )
    for f in findings:
        assert f.code.startswith(("pii_", "secret_", "scan_"))
        assert f.excerpt is None or (len(f.excerpt) <= 40 and not re.search(r"\d{12,}", f.excerpt))


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[1-8][0-9]{16}\Z"))
def test_an_id_number_is_found_exactly_when_its_check_digit_is_right(first17: str) -> None:
    good = id_number(first17)
    bad = good[:17] + ("1" if good[17] == "0" else "0")
    shaped = valid_id_18(good)  # a real region and birth date
    assert ({f.code for f in _scan(f"号码{good}")} == {"pii_id_number"}) == shaped
    if shaped:  # a wrong check digit: no finding at all, not even a bank card
        assert _scan(f"号码{bad}") == []

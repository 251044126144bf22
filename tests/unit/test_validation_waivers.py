"""Waivers (豁免): an admin's written exception to an error finding."""

from __future__ import annotations

from service.domain.findings import error, has_errors, warning
from service.domain.metadata import Waiver
from service.validation import apply_waivers

LATE = warning("gia_late", "逾期", "late")
BALANCE = error("gia_t3_balance", "表三", "table 3", where="表三“自然人”列")
NO_REVIEW = error("review_missing", "缺少保密审查记录", "no review")
REASON = "经核实，上年数据有误已更正，本年按更正后数据填报"


def _waive(code: str) -> list[Waiver]:
    return [Waiver(code=code, reason=REASON)]


def test_an_admins_waiver_marks_the_error_and_it_no_longer_blocks() -> None:
    findings, applied = apply_waivers(
        [BALANCE, LATE], _waive("gia_t3_balance"), by="admin-li", may_waive=True
    )
    assert not has_errors(findings)
    waived = findings[0]
    assert (waived.code, waived.waived_by, waived.waiver_reason) == (
        "gia_t3_balance",
        "admin-li",
        REASON,
    )
    assert waived.to_dict()["waived_by"] == "admin-li"
    assert [w.to_dict() for w in applied] == [
        {"code": "gia_t3_balance", "reason": REASON, "waived_by": "admin-li", "findings": 1}
    ]


def test_an_operators_waiver_is_not_honoured_and_says_so() -> None:
    findings, applied = apply_waivers([BALANCE], _waive("gia_t3_balance"), by="op", may_waive=False)
    assert has_errors(findings) and applied == []
    assert [(f.code, f.where) for f in findings[1:]] == [
        ("waiver_not_permitted", "metadata.waivers[0]")
    ]


def test_without_a_principal_no_waiver_is_honoured() -> None:
    findings, _ = apply_waivers([BALANCE], _waive("gia_t3_balance"), by=None, may_waive=True)
    assert has_errors(findings)
    assert findings[-1].code == "waiver_not_permitted"


def test_a_missing_review_cannot_be_waived() -> None:
    findings, applied = apply_waivers(
        [NO_REVIEW], _waive("review_missing"), by="admin", may_waive=True
    )
    assert has_errors(findings) and applied == []
    assert findings[-1].code == "waiver_not_waivable"


def test_a_waiver_of_a_warning_or_an_absent_code_is_unused() -> None:
    findings, applied = apply_waivers(
        [LATE], _waive("gia_late") + _waive("gia_t4_total"), by="admin", may_waive=True
    )
    assert applied == []
    assert [f.code for f in findings] == ["gia_late", "waiver_unused", "waiver_unused"]

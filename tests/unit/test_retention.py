"""Object Lock retention per category (service.archive.retention): pure rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.archive.retention import PERMANENT, Lock, RetentionPolicy, add_years, filing_period
from service.domain.filing import Category

NOW = datetime(2024, 3, 5, 8, 30, 15, 123456, tzinfo=UTC)


def key(category: str) -> str:
    return f"filings/12120000MB1234567X/{category}/2023/F1/v1/data/report.pdf"


def test_permanent_categories_get_a_legal_hold_and_the_long_period() -> None:
    lock = RetentionPolicy().lock_for(key("rule_of_law_report"), NOW)

    assert lock == Lock("COMPLIANCE", datetime(2094, 3, 5, 8, 30, 15, tzinfo=UTC), legal_hold=True)


def test_livelihood_items_are_kept_30_years_by_default_without_a_hold() -> None:
    lock = RetentionPolicy().lock_for(key("livelihood") + "/receipts/portal-000001.json", NOW)

    assert (lock.retain_until.year, lock.legal_hold) == (2054, False)


@pytest.mark.parametrize(
    ("metadata", "period"),
    [
        (
            {"category": "livelihood", "livelihood": {"field": "教育", "major_decision": True}},
            PERMANENT,
        ),
        (
            {"category": "livelihood", "livelihood": {"field": "教育", "major_decision": False}},
            None,
        ),
        ({"category": "livelihood", "livelihood": None}, None),
        ({"category": "livelihood"}, None),
        ({"category": "leadership", "livelihood": {"major_decision": True}}, None),
    ],
    ids=["major decision", "not major", "no details", "no details key", "other category"],
)
def test_a_livelihood_item_that_records_a_major_decision_is_kept_permanently(
    metadata: dict[str, object], period: object
) -> None:
    assert filing_period(metadata) == period


def test_a_filings_own_period_overrides_its_categorys() -> None:
    policy = RetentionPolicy()

    lock = policy.lock_for(key("livelihood"), NOW, PERMANENT)

    assert (lock.retain_until.year, lock.legal_hold) == (2094, True)
    assert policy.lock_for(key("rule_of_law_report"), NOW, 10).legal_hold is False


def test_overrides_mode_and_the_default_for_keys_outside_filings_are_configurable() -> None:
    policy = RetentionPolicy.of(
        {Category.LIVELIHOOD: "permanent", Category.LEADERSHIP: 10},
        default=30,
        mode="GOVERNANCE",
        permanent_years=50,
    )

    assert policy.lock_for(key("livelihood"), NOW).retain_until.year == 2074
    assert policy.lock_for(key("leadership"), NOW) == Lock(
        "GOVERNANCE", add_years(NOW, 10), legal_hold=False
    )
    assert policy.period_for("audit/2024-03-05.jsonl") == 30
    assert policy.period_for(key("no_such_category")) == 30
    assert policy.period_for(key("budget_final_accounts")) == "permanent"


def test_a_period_is_whole_years_or_permanent() -> None:
    with pytest.raises(ValueError):
        RetentionPolicy.of({Category.LIVELIHOOD: 0})
    with pytest.raises(ValueError):
        RetentionPolicy(default="forever")  # type: ignore[arg-type]


def test_years_are_added_on_the_calendar() -> None:
    leap = datetime(2024, 2, 29, tzinfo=UTC)

    assert add_years(leap, 1) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_years(leap, 4) == datetime(2028, 2, 29, tzinfo=UTC)

"""A tick logs and counts what falls due within DISCLOSURE_DEADLINE_NOTICE_DAYS and what
is overdue, and returns those rows for whoever notifies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from service import metrics
from service.bootstrap import Container, build_container, tick_jobs
from service.settings import Settings
from service.usecases.tick import run_tick
from tests.support.board import file_on, shanghai_morning
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY
from tests.support.clock import FakeClock

REGISTRY = f"""
bodies:
  - org_code: "{NANKAI_OFFICE}"
    name: 天津市南开区合作交流办公室
    categories: [gov_info_annual_report, budget_final_accounts]
  - org_code: "{OTHER_BODY}"
    name: 天津市南开区司法局
    categories: [gov_info_annual_report]
"""


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    registry = tmp_path / "orgs.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "var",
        orgs_file=registry,
        fixity_sample_per_tick=0,
        deadline_notice_days=14,
        compliance_email="duban@nankai.gov.cn",
        smtp_host="127.0.0.1",  # e-mail configured; nothing is sent here (no worker)
    )
    built = build_container(settings, clock=FakeClock())
    yield built
    built.close()


def test_a_tick_reports_the_annual_reports_due_soon_and_the_budgets_overdue(
    container: Container,
) -> None:
    clock = container.clock
    assert isinstance(clock, FakeClock)
    file_on(
        container.catalog,
        clock,
        date(2024, 1, 10),
        org_code=OTHER_BODY,
        category="gov_info_annual_report",
        period="2023",
    )
    clock.now = shanghai_morning(date(2024, 1, 20))  # the 年报 on 2023 is due 2024-01-31

    with capture_logs() as logs:
        report = run_tick(tick_jobs(container, {}, None))

    due_soon = [(r.org_code, r.category, r.kind, r.period) for r in report.deadlines.due_soon]
    overdue = [(r.org_code, r.category, r.kind, r.period) for r in report.deadlines.overdue]
    assert due_soon == [(NANKAI_OFFICE, "gov_info_annual_report", None, "2023")]
    # 2023's budget (expected 批复 2023-02-15, due 2023-03-07); 2024's is not due yet
    assert overdue == [(NANKAI_OFFICE, "budget_final_accounts", "budget", "2023")]
    [watched] = [e for e in logs if e["event"] == "deadlines_watched"]
    assert (watched["due_soon_count"], watched["overdue_count"]) == (1, 1)
    assert watched["due_soon"][0]["due_on"] == "2024-01-31"
    gauge = metrics.REGISTRY.get_sample_value
    assert gauge("disclosure_deadlines", {"state": "due_soon"}) == 1
    assert gauge("disclosure_deadlines", {"state": "overdue"}) == 1


def test_nothing_due_within_the_notice_period_is_quiet(container: Container) -> None:
    clock = container.clock
    assert isinstance(clock, FakeClock)
    clock.now = shanghai_morning(date(2024, 1, 10))  # 21 days before the 年报 deadline
    file_on(
        container.catalog,
        clock,
        date(2023, 3, 1),
        org_code=NANKAI_OFFICE,
        category="budget_final_accounts",
        period="2023",
        variant="budget",
        approved_on=date(2023, 2, 20),
    )
    clock.now = shanghai_morning(date(2024, 1, 10))

    with capture_logs() as logs:
        report = run_tick(tick_jobs(container, {}, None))

    assert report.deadlines.due_soon == [] and report.deadlines.overdue == []
    assert not [e for e in logs if e["event"] == "deadlines_watched"]
    assert metrics.REGISTRY.get_sample_value("disclosure_deadlines", {"state": "overdue"}) == 0


def test_the_compliance_staff_are_told_once_of_each_deadline_near_or_missed(
    container: Container,
) -> None:
    clock = container.clock
    assert isinstance(clock, FakeClock)
    clock.now = shanghai_morning(date(2024, 1, 20))
    for _ in range(2):  # a second tick finds the same rows and queues nothing new
        run_tick(tick_jobs(container, {}, None))
        clock.advance(3600)

    told = {(n.kind.value, n.subject, n.recipient) for n in container.catalog.notifications()}
    assert told == {
        (
            "deadline.approaching",
            f"{NANKAI_OFFICE}/gov_info_annual_report/2023",
            "duban@nankai.gov.cn",
        ),
        (
            "deadline.approaching",
            f"{OTHER_BODY}/gov_info_annual_report/2023",
            "duban@nankai.gov.cn",
        ),
        (
            "deadline.missed",
            f"{NANKAI_OFFICE}/budget_final_accounts/2023/budget",
            "duban@nankai.gov.cn",
        ),
    }
    assert len(container.catalog.notifications()) == len(told)

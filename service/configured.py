"""The parts of the service its settings configure and that need no adapter: the
validation's deadlines and limits, the in-process retries, who is told of what. The
composition root (service.bootstrap) builds the rest from these."""

from __future__ import annotations

from pathlib import Path

from service.delivery.quick_retry import QuickRetryPolicy
from service.domain.notifications import Recipients
from service.domain.org import OrgRegistry
from service.settings import Settings
from service.spools import default_root
from service.usecases.deadlines import DueDates
from service.validation import ValidationRules, WorkingCalendar, load_holiday_overrides
from service.validation.formats.documents import DocumentLimits


class ConfigurationError(Exception):
    """The settings cannot make a working service; the message says what to change."""


def spool_root(settings: Settings) -> Path:
    return settings.spool_dir or default_root()


def validation_rules(settings: Settings) -> ValidationRules:
    """The deadlines from settings; the holiday file, if any, read now (a bad one stops
    start-up with a message saying what is wrong)."""
    overrides = {}
    if settings.holidays_file is not None:
        try:
            overrides = load_holiday_overrides(settings.holidays_file)
        except ValueError as exc:
            raise ConfigurationError(f"DISCLOSURE_HOLIDAYS_FILE: {exc}") from exc
    return ValidationRules(
        rule_of_law_deadline=settings.rule_of_law_deadline,
        gov_info_deadline_department=settings.gov_info_deadline_department,
        gov_info_deadline_district_government=settings.gov_info_deadline_district_government,
        budget_publish_days=settings.budget_publish_days,
        change_publish_working_days=settings.change_publish_working_days,
        calendar=WorkingCalendar(overrides),
    )


def due_dates(settings: Settings) -> DueDates:
    return DueDates(
        rules=validation_rules(settings),
        budget_expected_approval=settings.budget_expected_approval,
        final_accounts_expected_approval=settings.final_accounts_expected_approval,
    )


def document_limits(settings: Settings) -> DocumentLimits:
    return DocumentLimits(
        max_chars=settings.document_max_chars,
        max_paragraphs=settings.document_max_paragraphs,
        max_pdf_pages=settings.document_max_pdf_pages,
        max_decompressed_bytes=settings.document_max_decompressed_bytes,
        max_part_bytes=settings.document_max_part_bytes,
        max_zip_members=settings.document_max_zip_members,
        max_table_cells=settings.document_max_table_cells,
        max_xml_elements=settings.document_max_xml_elements,
        max_xml_depth=settings.document_max_xml_depth,
    )


def build_recipients(settings: Settings, registry: OrgRegistry) -> Recipients:
    """Who is told: the registry's contacts and the compliance address, by the channels
    configured."""
    return Recipients(
        contacts={code: [c.email for c in body.contacts] for code, body in registry.bodies.items()},
        compliance=[settings.compliance_email] if settings.compliance_email else [],
        email=settings.smtp_host is not None,
        webhook=settings.webhook_url is not None,
    )


def quick_retry_policy(settings: Settings) -> QuickRetryPolicy:
    return QuickRetryPolicy(
        tries=settings.quick_tries,
        backoff_initial_s=settings.backoff_initial_s,
        backoff_max_s=settings.backoff_max_s,
    )

"""The kinds of filing the service takes: one entry each. Adding a kind is one
`CategorySpec` here (its code defined with `Category.define`) and one module of content
rules in service/validation/; a kind with details of its own adds their model to
service/domain/metadata.py as well.

    spec = category_spec(Category.GOV_INFO_ANNUAL_REPORT)
    spec.category             the code, its labels (zh/en), annual or not, its retention
    spec.metadata_model       what its metadata may hold (published in schemas/)
    spec.content_rule         what its document must contain (service.validation)
    spec.due                  when it is due (service.validation.deadlines)
    spec.routes               where it goes when settings say nothing (DISCLOSURE_ROUTES)
    spec.portal_channel       its channel on the portal (DISCLOSURE_PORTAL_CHANNELS overrides)
    spec.reads_tables         its rules read the document's tables (a PDF's cost more)
    spec.compares_with_previous   its rules compare it with last period's filing

Readers are the use cases that check a filing (service.usecases.checking, service.usecases.ingest), the
settings (default routes) and the composition root (portal channels).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from service.domain.filing import Category, Destination
from service.domain.metadata import (
    BudgetFinalAccountsMetadata,
    FilingEnvelope,
    FilingMetadata,
    GovInfoAnnualReportMetadata,
    LeadershipMetadata,
    LivelihoodMetadata,
    OrganizationMetadata,
    RuleOfLawReportMetadata,
)
from service.validation.budget import budget_content
from service.validation.changes import (
    leadership_content,
    livelihood_content,
    organization_content,
)
from service.validation.context import ContentRule
from service.validation.deadlines import (
    DueRule,
    budget_due,
    change_due,
    gov_info_due,
    rule_of_law_due,
)
from service.validation.gov_info import gov_info_content
from service.validation.rule_of_law import rule_of_law_content


@dataclass(frozen=True)
class CategorySpec:
    category: Category
    metadata_model: type[FilingEnvelope]
    content_rule: ContentRule
    due: DueRule
    portal_channel: str
    routes: tuple[Destination, ...] = (Destination.PORTAL,)
    reads_tables: bool = False
    compares_with_previous: bool = False


_SPECS: dict[Category, CategorySpec] = {}


def register(spec: CategorySpec) -> CategorySpec:
    _SPECS[Category.admit(spec.category)] = spec
    return spec


def unregister(category: Category) -> None:
    """For tests that register a kind of their own."""
    _SPECS.pop(category, None)
    Category.unregister(category.value)


def category_spec(category: Category | str) -> CategorySpec:
    return _SPECS[Category(category)]


def category_specs() -> Iterator[CategorySpec]:
    return iter(list(_SPECS.values()))


def content_rule(metadata: FilingMetadata) -> ContentRule:
    """What the filing's document must contain, by its kind."""
    return category_spec(metadata.category).content_rule


def default_routes() -> dict[Category, list[Destination]]:
    return {spec.category: list(spec.routes) for spec in category_specs()}


def portal_channels() -> dict[str, str]:
    """Each kind's portal channel, by its code (what a delivery job names)."""
    return {spec.category.value: spec.portal_channel for spec in category_specs()}


register(
    CategorySpec(
        Category.RULE_OF_LAW_REPORT,
        RuleOfLawReportMetadata,
        rule_of_law_content,
        rule_of_law_due,
        portal_channel="fzzfjs",
        routes=(Destination.PORTAL, Destination.LEGAL_PLATFORM),
    )
)
register(
    CategorySpec(
        Category.GOV_INFO_ANNUAL_REPORT,
        GovInfoAnnualReportMetadata,
        gov_info_content,
        gov_info_due,
        portal_channel="zfxxgknb",
        reads_tables=True,
        compares_with_previous=True,
    )
)
register(
    CategorySpec(
        Category.LEADERSHIP,
        LeadershipMetadata,
        leadership_content,
        change_due,
        portal_channel="ldxx",
    )
)
register(
    CategorySpec(
        Category.ORGANIZATION,
        OrganizationMetadata,
        organization_content,
        change_due,
        portal_channel="jgzn",
    )
)
register(
    CategorySpec(
        Category.BUDGET_FINAL_ACCOUNTS,
        BudgetFinalAccountsMetadata,
        budget_content,
        budget_due,
        portal_channel="czyjs",
    )
)
register(
    CategorySpec(
        Category.LIVELIHOOD,
        LivelihoodMetadata,
        livelihood_content,
        change_due,
        portal_channel="zdmsxx",
    )
)

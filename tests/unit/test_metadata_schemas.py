"""The published JSON Schemas and the finding-codes table: what is committed is what the
models generate, every schema is valid 2020-12, and the valid examples of every category
pass both the schema and the model."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from service.categories import category_spec
from service.domain.capture import FINDING_CODES
from service.domain.filing import Category
from service.domain.findings import error
from service.domain.metadata import FilingMetadata
from service.schemas import documents, render
from service.validation.codes import CODES, findings_markdown
from service.validation.rule_of_law.items import ITEMS
from tests.support.bodies import sample_metadata
from tests.support.documents import annual_report_tables

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
SERVICE = ROOT / "service"
REVIEW = {"reviewer": "李明", "reviewed_on": "2024-01-11", "result": "同意公开"}

EXAMPLES: dict[Category, dict[str, Any]] = {
    Category.RULE_OF_LAW_REPORT: sample_metadata(),
    Category.GOV_INFO_ANNUAL_REPORT: sample_metadata(
        category="gov_info_annual_report", annual_report=annual_report_tables()
    ),
    Category.LEADERSHIP: sample_metadata(
        category="leadership",
        period="2024-03-05",
        leadership={"leaders": [{"name": "张伟", "post": "主任", "duties": "主持全面工作"}]},
    ),
    Category.ORGANIZATION: sample_metadata(
        category="organization",
        period="2024-03-05",
        organization={
            "functions": "负责全区对口支援工作",
            "units": [{"name": "办公室", "duties": "文电、会务"}],
            "address": "天津市南开区红旗路1号",
            "hours": "周一至周五 9:00—17:00",
            "phone": "022-27350000",
        },
    ),
    Category.BUDGET_FINAL_ACCOUNTS: sample_metadata(
        category="budget_final_accounts",
        budget={"kind": "final_accounts", "approved_on": "2024-08-10"},
        waivers=[{"code": "budget_basic_expenditure_missing", "reason": "本单位无基本支出"}],
    ),
    Category.LIVELIHOOD: sample_metadata(
        category="livelihood",
        period="2024-02-20",
        title="2024年春季学期招生工作安排",
        livelihood={"field": "教育", "major_decision": True},
    ),
}


def test_the_committed_schemas_are_what_the_models_generate() -> None:
    """Run `disclosure schemas export` after changing a model."""
    generated = documents()
    committed = {p.name for p in SCHEMAS.glob("*.json")}
    assert committed == set(generated)
    for name, schema in generated.items():
        assert (SCHEMAS / name).read_text("utf-8") == render(schema), name


def test_the_committed_findings_table_is_what_the_codes_generate() -> None:
    assert (ROOT / "docs" / "findings.md").read_text("utf-8") == findings_markdown()


@pytest.mark.parametrize("name", sorted(documents()))
def test_every_schema_is_valid_json_schema_2020_12_with_a_unique_id(name: str) -> None:
    schema = json.loads((SCHEMAS / name).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    ids = [json.loads(p.read_text("utf-8"))["$id"] for p in SCHEMAS.glob("*.json")]
    assert ids.count(schema["$id"]) == 1 and schema["$id"].endswith(name)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / name).read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("category", list(Category))
def test_a_valid_example_passes_its_categorys_schema_the_api_schema_and_the_models(
    category: Category,
) -> None:
    example = EXAMPLES[category]
    _validator(f"metadata.{category.value}.schema.json").validate(example)
    _validator("filing-metadata.schema.json").validate(example)
    category_spec(category).metadata_model.model_validate(example)
    FilingMetadata.model_validate(example)


@pytest.mark.parametrize(
    ("example", "category"),
    [
        (EXAMPLES[Category.LEADERSHIP], Category.ORGANIZATION),
        (EXAMPLES[Category.GOV_INFO_ANNUAL_REPORT], Category.RULE_OF_LAW_REPORT),
        (EXAMPLES[Category.BUDGET_FINAL_ACCOUNTS], Category.LIVELIHOOD),
    ],
    ids=["leaders-on-an-organization", "tables-on-a-rule-of-law-report", "budget-on-livelihood"],
)
def test_details_of_another_category_are_refused_by_model_and_schema(
    example: dict[str, Any], category: Category
) -> None:
    wrong = {**example, "category": category.value}
    with pytest.raises(ValidationError):
        FilingMetadata.model_validate(wrong)
    assert not _validator("filing-metadata.schema.json").is_valid(wrong)
    assert not _validator(f"metadata.{category.value}.schema.json").is_valid(wrong)


@pytest.mark.parametrize(
    "change",
    [
        {"annual_report": {"table3": {"total": {"natural_person": -1}}}},
        {"annual_report": {"table3": {"withheld": [{}] * 9}}},
        {"annual_report": {"table3": {"total": {"nobody": 1}}}},
        {"annual_report": {"table4": {"reconsideration": {"total": "三"}}}},
        {"waivers": [{"code": "Not A Code", "reason": "因为"}]},
        {"waivers": [{"code": "gia_t3_balance", "reason": " "}]},
    ],
    ids=[
        "negative",
        "nine-withheld-rows",
        "unknown-column",
        "not-a-number",
        "bad-code",
        "no-reason",
    ],
)
def test_a_malformed_table_or_waiver_is_refused_by_both(change: dict[str, Any]) -> None:
    bad = {**EXAMPLES[Category.GOV_INFO_ANNUAL_REPORT], **change}
    with pytest.raises(ValidationError):
        FilingMetadata.model_validate(bad)
    assert not _validator("metadata.gov_info_annual_report.schema.json").is_valid(bad)


def test_a_rule_of_law_submission_of_the_walking_skeleton_is_still_valid() -> None:
    old = {k: v for k, v in sample_metadata().items() if k != "waivers"}
    FilingMetadata.model_validate(old)
    _validator("metadata.rule_of_law_report.schema.json").validate(old)


def test_a_finding_as_json_passes_the_finding_schema() -> None:
    validator = _validator("finding.schema.json")
    plain = error("gia_t3_balance", "表三", "Table 3", where="表三“自然人”列")
    waived = plain.__class__(
        **{**plain.__dict__, "waived_by": "admin", "waiver_reason": "核实无误"}
    )
    validator.validate(plain.to_dict())
    validator.validate(waived.to_dict())
    assert "waived_by" not in plain.to_dict()


# -- every code raised in validation and domain is in the table -----------------------------

_FINDING_MAKERS = {"error", "warning", "make", "error_finding", "_finding", "ReadProblem"}


def _raised_codes() -> set[str]:
    """String literals that name a code where a finding is made, in service/validation,
    service/domain and the use cases that refuse a submission."""
    paths = [*(SERVICE / "validation").rglob("*.py"), *(SERVICE / "domain").rglob("*.py")]
    paths += [SERVICE / "usecases" / name for name in ("checking.py", "ingest.py", "refusals.py")]
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else ""
            first = node.args[0]
            literal = first.value if isinstance(first, ast.Constant) else None
            if name in _FINDING_MAKERS and isinstance(literal, str) and literal.islower():
                found.add(literal)
    return found


def test_every_code_raised_is_in_the_findings_table() -> None:
    dynamic = {item.code for item in ITEMS} | {
        f"gia_missing_{k}"
        for k in ("overview", "proactive", "requests", "review_litigation", "problems", "other")
    }
    dynamic |= {
        "rol_plan_year_mismatch", "rol_heading_year_mismatch",
        "pii_id_number", "pii_mobile", "pii_mobile_personal", "pii_bank_card",
        "secret_classified_marking", "secret_internal_marking",
        "file_unreadable", "file_too_complex", "file_type_unsupported", "file_no_text",
    }  # fmt: skip
    dynamic |= set(FINDING_CODES.values())  # a page's drift or rot (service.domain.capture)
    raised = _raised_codes() | dynamic
    assert raised - set(CODES) == set()
    assert set(CODES) - raised == set()

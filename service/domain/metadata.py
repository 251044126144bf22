"""The metadata an operator submits with a filing (the `metadata` part of a submission).

    FilingEnvelope                 what every filing carries: body, kind, period, review, waivers
    ├── RuleOfLawReportMetadata    one model per category, each its published JSON Schema
    ├── GovInfoAnnualReportMetadata  + annual_report: tables 二, 三, 四 as JSON
    ├── LeadershipMetadata         + leadership: leaders (name, post, duties)
    ├── OrganizationMetadata       + organization: functions, units, address, hours, phone
    ├── BudgetFinalAccountsMetadata  + budget: kind, approved_on (批复日期)
    ├── LivelihoodMetadata         + livelihood: field, major_decision
    └── FilingMetadata             what the API accepts: the envelope and every category's
                                   details, of which only the filing's own category's may be set

Shapes live here; whether a required item is there is a validation rule, so that a
missing one is a finding in Chinese that says where, not a bare schema error.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from service.domain.filing import Category, FilingKey

# No text holds a control character: a NUL cannot be stored (PostgreSQL refuses it) and
# none belongs in a report's metadata. Names and titles are one line as well.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _CONTROL.search(t) for t in texts):
            raise ValueError("contains a control character (NUL, escape …): 含控制字符")
        return value


Text = Annotated[str, StringConstraints(max_length=2000)]
CorrectionReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]
ShortText = Annotated[str, StringConstraints(max_length=200)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
# A table cell as reports write it: a number, or blank / "/" (both count as 0 in a sum).
Cell = Annotated[
    Count | Literal["", "/"] | None,
    Field(description='非负整数；空白、"/" 或 null 按 0 计 (a count; blank or "/" is 0)'),
]


class Review(_Model):
    """The 保密审查 record: who reviewed the item for secrets, when, with what result."""

    reviewer: str = Field(min_length=1, max_length=100, pattern=ONE_LINE)
    reviewed_on: date
    result: str = Field(min_length=1, max_length=200, pattern=ONE_LINE, description="e.g. 同意公开")


class Waiver(_Model):
    """豁免: an authorised, reasoned exception to one error finding (honoured for admins)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", description="the finding's code")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]


# -- 政府信息公开工作年度报告: tables 二, 三, 四 ------------------------------------------


class ProactiveRow(_Model):
    """A row of table 二. The 2021 format (reports on 2021 on) uses issued / repealed /
    in_force, decisions and amount; the 2019 trial format (2019–2020) uses made /
    published / total_published, previous_items / change / decisions, items and amount."""

    issued: Cell = Field(None, description="本年制发件数 (2021)")
    repealed: Cell = Field(None, description="本年废止件数 (2021)")
    in_force: Cell = Field(None, description="现行有效件数 (2021)")
    made: Cell = Field(None, description="本年新制作数量 (2019)")
    published: Cell = Field(None, description="本年新公开数量 (2019)")
    total_published: Cell = Field(None, description="对外公开总数量 (2019)")
    previous_items: Cell = Field(None, description="上一年项目数量 (2019)")
    change: int | Literal["", "/"] | None = Field(None, description="本年增/减 (2019)")
    decisions: Cell = Field(None, description="本年处理决定数量 / 处理决定数量")
    items: Cell = Field(None, description="采购项目数量 (2019)")
    amount: Annotated[float, Field(ge=0)] | Literal["", "/"] | None = Field(
        None, description="本年收费金额（万元） / 采购总金额"
    )


class ProactiveTable(_Model):
    """表二 主动公开政府信息情况."""

    rules: ProactiveRow | None = Field(None, description="规章")
    normative_documents: ProactiveRow | None = Field(None, description="（行政）规范性文件")
    licensing: ProactiveRow | None = Field(None, description="行政许可")
    other_services: ProactiveRow | None = Field(None, description="其他对外管理服务事项 (2019)")
    penalties: ProactiveRow | None = Field(None, description="行政处罚")
    coercion: ProactiveRow | None = Field(None, description="行政强制")
    fees: ProactiveRow | None = Field(None, description="行政事业性收费")
    procurement: ProactiveRow | None = Field(None, description="政府集中采购 (2019)")


class RequestRow(_Model):
    """A row of table 三: the applicants' columns."""

    natural_person: Cell = Field(None, description="自然人")
    commercial_enterprise: Cell = Field(None, description="商业企业")
    research_institution: Cell = Field(None, description="科研机构")
    social_welfare_organization: Cell = Field(None, description="社会公益组织")
    legal_service_agency: Cell = Field(None, description="法律服务机构")
    other_organization: Cell = Field(None, description="其他")
    total: Cell = Field(None, description="总计")


class RequestTable(_Model):
    """表三 收到和处理政府信息公开申请情况. A row left out is blank."""

    new_received: RequestRow | None = Field(None, description="一、本年新收政府信息公开申请数量")
    carried_over: RequestRow | None = Field(None, description="二、上年结转政府信息公开申请数量")
    disclosed: RequestRow | None = Field(None, description="三（一）予以公开")
    partially_disclosed: RequestRow | None = Field(None, description="三（二）部分公开")
    withheld: list[RequestRow] | None = Field(
        None, max_length=8, description="三（三）不予公开 1–8"
    )
    unable_to_provide: list[RequestRow] | None = Field(
        None, max_length=3, description="三（四）无法提供 1–3"
    )
    not_processed: list[RequestRow] | None = Field(
        None, max_length=5, description="三（五）不予处理 1–5"
    )
    other_handling: list[RequestRow] | None = Field(
        None, max_length=3, description="三（六）其他处理: 1–3 (2021), one row (2019)"
    )
    total: RequestRow | None = Field(None, description="三（七）总计")
    carried_forward: RequestRow | None = Field(None, description="四、结转下年度继续办理")


class CaseGroup(_Model):
    """A group of table 四: the outcomes and their total."""

    upheld: Cell = Field(None, description="结果维持")
    corrected: Cell = Field(None, description="结果纠正")
    other: Cell = Field(None, description="其他结果")
    pending: Cell = Field(None, description="尚未审结")
    total: Cell = Field(None, description="总计")


class CaseTable(_Model):
    """表四 政府信息公开行政复议、行政诉讼情况."""

    reconsideration: CaseGroup | None = Field(None, description="行政复议")
    litigation_direct: CaseGroup | None = Field(None, description="行政诉讼 未经复议直接起诉")
    litigation_after_reconsideration: CaseGroup | None = Field(
        None, description="行政诉讼 复议后起诉"
    )


class AnnualReportData(_Model):
    """The 年报's tables as data; when the document is a DOCX its tables are read too and
    cross-checked against these."""

    table2: ProactiveTable | None = None
    table3: RequestTable | None = None
    table4: CaseTable | None = None


# -- the other categories' details -----------------------------------------------------


class BudgetKind(StrEnum):
    BUDGET = "budget"
    FINAL_ACCOUNTS = "final_accounts"


class BudgetDetails(_Model):
    kind: BudgetKind | None = Field(None, description="部门预算 budget / 部门决算 final_accounts")
    approved_on: date | None = Field(None, description="财政部门批复日期（必填）")


class Leader(_Model):
    name: ShortText | None = Field(None, description="姓名（必填）")
    post: ShortText | None = Field(None, description="职务（必填）")
    duties: Text | None = Field(None, description="分工（必填）")
    photo: ShortText | None = Field(None, description="照片文件名或地址（可选）")


class LeadershipDetails(_Model):
    leaders: list[Leader] = Field(default_factory=list, max_length=200)


class InternalUnit(_Model):
    name: ShortText | None = Field(None, description="内设机构名称")
    duties: Text | None = Field(None, description="职责")


class OrganizationDetails(_Model):
    """机构职能和设置; an item left out here may instead be in the document under its label."""

    functions: Text | None = Field(None, description="职能")
    units: list[InternalUnit] | None = Field(None, max_length=200, description="内设机构")
    address: ShortText | None = Field(None, description="办公地址")
    hours: ShortText | None = Field(None, description="办公时间")
    phone: ShortText | None = Field(None, description="联系电话")


class LivelihoodDetails(_Model):
    field: ShortText | None = Field(None, description="领域，如 教育、医疗、社会保障（必填）")
    major_decision: bool = Field(False, description="记录重大决策（保管期限永久）")


# -- the envelope and one model per category ---------------------------------------------


class FilingEnvelope(_Model):
    """What every filing carries, whatever its category."""

    category: Category
    org_code: str = Field(
        min_length=18,
        max_length=18,
        pattern=r"^[0-9A-Z]{18}$",
        description="统一社会信用代码（18 位数字或大写字母）",
    )
    org_name: str = Field(min_length=1, max_length=200, pattern=ONE_LINE)
    period: str = Field(
        min_length=4,
        max_length=10,
        pattern=r"^\d{4}(-\d{2}-\d{2})?$",
        description='"2023" for annual kinds; "2024-03-05" for items formed or changed on a date',
    )
    title: str | None = Field(default=None, max_length=300, pattern=ONE_LINE)
    publish_at: AwareDatetime | None = Field(
        None, description="带时区的时间，如 2024-01-12T09:00:00+08:00 (with its time zone)"
    )
    review: Review | None = Field(None, description="保密审查记录；发往门户网站的报送必填")
    reason: CorrectionReason | None = Field(
        None,
        description="更正原因，提交更正版本时必填，公开时随文发布。"
        "Why a correction replaces the version before: required on a correction, published with it",
    )
    waivers: list[Waiver] = Field(default_factory=list, max_length=50)
    file_sha256: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{64}$",
        description=(
            "文件的 SHA-256（十六进制小写），可选：给出时，服务拒收内容与之不符的文件，"
            "并可在接收文件的同时将其写入归档。The file's SHA-256 (lowercase hex), "
            "optional: when given, a file that hashes otherwise is refused, and the file "
            "can go to the archive while it is received (send the metadata part first)."
        ),
    )


class RuleOfLawReportMetadata(FilingEnvelope):
    category: Literal["rule_of_law_report"]  # type: ignore[assignment]  # one code of the open Category


class GovInfoAnnualReportMetadata(FilingEnvelope):
    category: Literal["gov_info_annual_report"]  # type: ignore[assignment]  # one code of the open Category
    annual_report: AnnualReportData | None = None


class LeadershipMetadata(FilingEnvelope):
    category: Literal["leadership"]  # type: ignore[assignment]  # one code of the open Category
    leadership: LeadershipDetails | None = None


class OrganizationMetadata(FilingEnvelope):
    category: Literal["organization"]  # type: ignore[assignment]  # one code of the open Category
    organization: OrganizationDetails | None = None


class BudgetFinalAccountsMetadata(FilingEnvelope):
    category: Literal["budget_final_accounts"]  # type: ignore[assignment]  # one code of the open Category
    budget: BudgetDetails | None = None


class LivelihoodMetadata(FilingEnvelope):
    category: Literal["livelihood"]  # type: ignore[assignment]  # one code of the open Category
    livelihood: LivelihoodDetails | None = None


# The details field each category may carry.
DETAIL_FIELDS: dict[str, Category] = {
    "annual_report": Category.GOV_INFO_ANNUAL_REPORT,
    "leadership": Category.LEADERSHIP,
    "organization": Category.ORGANIZATION,
    "budget": Category.BUDGET_FINAL_ACCOUNTS,
    "livelihood": Category.LIVELIHOOD,
}


def _own_details_only(schema: dict[str, Any]) -> None:
    """The model validator below, in JSON Schema: a details field fixes the category."""
    schema["allOf"] = [
        {
            "if": {"required": [name], "properties": {name: {"type": "object"}}},
            "then": {"properties": {"category": {"const": category.value}}},
        }
        for name, category in DETAIL_FIELDS.items()
    ]


class FilingMetadata(FilingEnvelope):
    """What the API and the CLI accept: exactly what the filing's category model accepts."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_own_details_only)

    annual_report: AnnualReportData | None = None
    leadership: LeadershipDetails | None = None
    organization: OrganizationDetails | None = None
    budget: BudgetDetails | None = None
    livelihood: LivelihoodDetails | None = None

    @model_validator(mode="after")
    def _details_of_its_own_category(self) -> FilingMetadata:
        for name, category in DETAIL_FIELDS.items():
            if getattr(self, name) is not None and self.category is not category:
                raise ValueError(
                    f"{name} belongs to category {category.value}, not {self.category.value}"
                )
        return self


def filing_key(metadata: FilingMetadata) -> FilingKey | None:
    """The key this filing is filed once under; None for the kinds filed many times."""
    if not metadata.category.annual:
        return None
    budget_kind = metadata.budget.kind if metadata.budget is not None else None
    return FilingKey(
        metadata.org_code,
        metadata.category.value,
        metadata.period,
        budget_kind.value if budget_kind is not None else None,
    )

"""The rules for items published within 20 working days of being formed or changed
(条例 第二十六条): 领导信息, 机构职能和设置, 重大民生信息 (DOMAIN.md §1, §5).

    change_late                   received after period + 20 working days (warning)
    calendar_year_not_covered     the holiday calendar lacks a year: weekdays counted (warning)
    period_in_future              the date formed/changed is after the day received (warning)
    leadership_leaders_missing    no leaders in metadata.leadership.leaders
    leadership_field_missing      a leader without name, post or 分工
    leadership_name_not_in_document  a leader named in the metadata but not in the document (warning)
    organization_field_missing    职能, 内设机构, 办公地址, 办公时间 or 联系电话 in neither
                                  the metadata nor the document
    organization_phone_invalid    the metadata's 联系电话 is no phone number
    livelihood_title_missing / livelihood_body_missing / livelihood_field_missing
    livelihood_field_unknown      a field not in the usual list (warning)
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from service.domain.findings import Finding, error, warning
from service.validation.context import FilingContext, ValidationResult
from service.validation.deadlines import change_due
from service.validation.formats.documents import Document

WHERE_RECEIVED = "报送日期"
WHERE_PERIOD = "metadata.period"
_MIN_BODY_CHARS = 20
_TITLE_MAX = 60
_PHONE = re.compile(r"^[\d\s()+\-—－、,，/转]{5,}$")

LIVELIHOOD_FIELDS = (
    "扶贫", "乡村振兴", "教育", "医疗", "卫生健康", "社会保障", "就业", "市政建设", "公共服务",
    "征收", "社会救助", "养老", "住房保障", "食品药品安全", "环境保护", "生态环境", "安全生产",
    "交通", "文化", "体育", "民政", "退役军人", "应急管理", "公共资源配置", "其他",
)  # fmt: skip

ORGANIZATION_ITEMS = (
    ("functions", "职能", re.compile(r"职能|主要职责|工作职责|职责")),
    ("units", "内设机构", re.compile(r"内设机构|内设科室|机构设置")),
    ("address", "办公地址", re.compile(r"(办公|通讯|联系)?地址")),
    ("hours", "办公时间", re.compile(r"(办公|工作|服务)时间")),
    ("phone", "联系电话", re.compile(r"(联系|办公|咨询)?电话")),
)
LEADER_FIELDS = (("name", "姓名"), ("post", "职务"), ("duties", "分工"))


def leadership_content(document: Document, filing: FilingContext) -> ValidationResult:
    return ValidationResult(_deadline_findings(filing) + _leadership(document, filing), None)


def organization_content(document: Document, filing: FilingContext) -> ValidationResult:
    return ValidationResult(_deadline_findings(filing) + _organization(document, filing), None)


def livelihood_content(document: Document, filing: FilingContext) -> ValidationResult:
    return ValidationResult(_deadline_findings(filing) + _livelihood(document, filing), None)


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


# -- the 20-working-day rule -------------------------------------------------------------


def _deadline_findings(filing: FilingContext) -> list[Finding]:
    try:
        changed = date.fromisoformat(filing.metadata.period)
    except ValueError:
        return []  # period_invalid says why
    received = filing.received_on
    if changed > received:
        return [
            warning(
                "period_in_future",
                f"形成或变更日期 {changed} 晚于报送日期 {received}",
                f"The date formed or changed ({changed}) is after the day received ({received})",
                where=WHERE_PERIOD,
            )
        ]
    days = filing.rules.change_publish_working_days
    deadline = change_due(filing)
    if deadline is None:
        return []
    findings: list[Finding] = []
    if deadline.uncovered:
        years = "、".join(str(y) for y in deadline.uncovered)
        findings.append(
            warning(
                "calendar_year_not_covered",
                f"节假日安排尚未收录 {years} 年，期限按周一至周五计算（管理员可在节假日补充文件中添加）",
                f"No holiday calendar for {years}: weekdays were counted instead",
                where=WHERE_RECEIVED,
            )
        )
    if received > deadline.due:
        findings.append(
            warning(
                "change_late",
                f"报送日期 {received} 晚于形成或变更（{changed}）后 {days} 个工作日的期限 "
                f"{deadline.due}（逾期，条例第二十六条）",
                f"Late: received on {received}, more than {days} working days after {changed}"
                f" (due {deadline.due})",
                where=WHERE_RECEIVED,
            )
        )
    return findings


# -- 领导信息 --------------------------------------------------------------------------------


def _leadership(document: Document, filing: FilingContext) -> list[Finding]:
    details = filing.metadata.leadership
    if details is None or not details.leaders:
        return [
            error(
                "leadership_leaders_missing",
                "元数据未列出领导（leadership.leaders：姓名、职务、分工）",
                "No leaders listed in metadata.leadership.leaders (name, post, duties)",
                where="metadata.leadership.leaders",
            )
        ]
    findings: list[Finding] = []
    text = _plain("".join(document.paragraphs))
    for i, leader in enumerate(details.leaders):
        for field, label in LEADER_FIELDS:
            if _blank(getattr(leader, field)):
                findings.append(
                    error(
                        "leadership_field_missing",
                        f"第{i + 1}位领导缺少“{label}”",
                        f"Leader {i + 1} has no {field}",
                        where=f"metadata.leadership.leaders[{i}].{field}",
                    )
                )
        if leader.name and not _blank(leader.name) and _plain(leader.name) not in text:
            findings.append(
                warning(
                    "leadership_name_not_in_document",
                    f"第{i + 1}位领导“{leader.name.strip()[:20]}”未出现在文档中",
                    f"Leader {i + 1} is not named in the document",
                    where=f"metadata.leadership.leaders[{i}].name",
                    excerpt=leader.name.strip()[:40],
                )
            )
    return findings


# -- 机构职能和设置 -----------------------------------------------------------------------------


def _organization(document: Document, filing: FilingContext) -> list[Finding]:
    details = filing.metadata.organization
    text = _plain("".join(document.paragraphs))
    findings: list[Finding] = []
    for field, label, pattern in ORGANIZATION_ITEMS:
        given = getattr(details, field) if details is not None else None
        present = bool(given) if isinstance(given, list) else not _blank(given)
        if not present and not pattern.search(text):
            findings.append(
                error(
                    "organization_field_missing",
                    f"缺少“{label}”（条例第二十条：机构职能、内设机构、办公地址、办公时间、联系电话）",
                    f"{label} ({field}) is in neither the metadata nor the document",
                    where=f"metadata.organization.{field}",
                )
            )
    for i, unit in enumerate(details.units or [] if details else []):
        if _blank(unit.name) or _blank(unit.duties):
            findings.append(
                error(
                    "organization_field_missing",
                    f"第{i + 1}个内设机构缺少名称或职责",
                    f"Internal unit {i + 1} has no name or duties",
                    where=f"metadata.organization.units[{i}]",
                )
            )
    phone = details.phone if details else None
    if (
        phone is not None
        and not _blank(phone)
        and not _PHONE.match(unicodedata.normalize("NFKC", phone))
    ):
        findings.append(
            error(
                "organization_phone_invalid",
                f"联系电话“{phone.strip()[:20]}”不是电话号码",
                "The phone is not a phone number",
                where="metadata.organization.phone",
                excerpt=phone.strip()[:40],
            )
        )
    return findings


# -- 重大民生信息 -------------------------------------------------------------------------------


def _livelihood(document: Document, filing: FilingContext) -> list[Finding]:
    findings: list[Finding] = []
    first = document.paragraphs[0].strip() if document.paragraphs else ""
    has_title = not _blank(filing.metadata.title) or 0 < len(first) <= _TITLE_MAX
    if not has_title:
        findings.append(
            error(
                "livelihood_title_missing",
                "缺少标题（元数据 title，或文档首行标题）",
                "No title (metadata title, or a title as the document's first line)",
                where="metadata.title",
            )
        )
    body = "".join(document.paragraphs[1:] if len(first) <= _TITLE_MAX else document.paragraphs)
    if len(_plain(body)) < _MIN_BODY_CHARS:
        findings.append(
            error(
                "livelihood_body_missing",
                f"正文过短（少于 {_MIN_BODY_CHARS} 字），缺少信息内容",
                "The body is missing or too short",
                where="正文",
            )
        )
    details = filing.metadata.livelihood
    field = details.field.strip() if details and details.field else ""
    if not field:
        findings.append(
            error(
                "livelihood_field_missing",
                f"缺少所属领域（元数据 livelihood.field，如 {'、'.join(LIVELIHOOD_FIELDS[:6])}）",
                "The field (livelihood.field) is required",
                where="metadata.livelihood.field",
            )
        )
    elif not any(known in field for known in LIVELIHOOD_FIELDS):
        findings.append(
            warning(
                "livelihood_field_unknown",
                f"所属领域“{field[:20]}”不在常用领域之列（{'、'.join(LIVELIHOOD_FIELDS)}）",
                f"The field {field[:20]!r} is not one of the usual ones",
                where="metadata.livelihood.field",
                excerpt=field[:40],
            )
        )
    return findings

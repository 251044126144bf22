"""The national formats of a 年报's tables (国办公开办函〔2019〕60号 for reports on
2019–2020, 〔2021〕30号 from 2021 on): rows, columns and their Chinese labels.

Row keys of table 三: new_received, carried_over, disclosed, partially_disclosed,
withheld.1–8, unable_to_provide.1–3, not_processed.1–5, other_handling.1–3 (one row in
the 2019 format), total, carried_forward. Table 四 has the groups reconsideration,
litigation_direct and litigation_after_reconsideration; table 二 the metadata's field names.
"""

from __future__ import annotations

FORMAT_2019 = 2019
FORMAT_2021 = 2021


def report_format(period_year: int) -> int:
    """国办公开办函〔2019〕60号 for 2019–2020, 〔2021〕30号 from 2021 on."""
    return FORMAT_2021 if period_year >= FORMAT_2021 else FORMAT_2019


# -- table 三 -----------------------------------------------------------------------

T3_COLUMNS = (
    ("natural_person", "自然人"),
    ("commercial_enterprise", "商业企业"),
    ("research_institution", "科研机构"),
    ("social_welfare_organization", "社会公益组织"),
    ("legal_service_agency", "法律服务机构"),
    ("other_organization", "其他"),
    ("total", "总计"),
)
TOTAL_COLUMN = len(T3_COLUMNS) - 1

GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "withheld": (
        "（三）不予公开",
        (
            "属于国家秘密",
            "其他法律行政法规禁止公开",
            "危及“三安全一稳定”",
            "保护第三方合法权益",
            "属于三类内部事务信息",
            "属于四类过程性信息",
            "属于行政执法案卷",
            "属于行政查询事项",
        ),
    ),
    "unable_to_provide": (
        "（四）无法提供",
        ("本机关不掌握相关政府信息", "没有现成信息需要另行制作", "补正后申请内容仍不明确"),
    ),
    "not_processed": (
        "（五）不予处理",
        (
            "信访举报投诉类申请",
            "重复申请",
            "要求提供公开出版物",
            "无正当理由大量反复申请",
            "要求行政机关确认或重新出具已获取信息",
        ),
    ),
    "other_handling": (
        "（六）其他处理",
        (
            "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            "其他",
        ),
    ),
}
SINGLE_ROWS = {
    "new_received": "一、本年新收政府信息公开申请数量",
    "carried_over": "二、上年结转政府信息公开申请数量",
    "disclosed": "三、（一）予以公开",
    "partially_disclosed": "三、（二）部分公开",
    "total": "三、（七）总计",
    "carried_forward": "四、结转下年度继续办理",
}


def group_size(group: str, fmt: int) -> int:
    if group == "other_handling" and fmt == FORMAT_2019:
        return 1
    return len(GROUPS[group][1])


def detail_rows(fmt: int) -> list[str]:
    """The rows of 三 that （七）总计 sums: （一）, （二）, then every row of （三）–（六）."""
    rows = ["disclosed", "partially_disclosed"]
    for group in GROUPS:
        rows += [f"{group}.{i}" for i in range(1, group_size(group, fmt) + 1)]
    return rows


def t3_rows(fmt: int) -> list[str]:
    return ["new_received", "carried_over", *detail_rows(fmt), "total", "carried_forward"]


def row_label(key: str, fmt: int = FORMAT_2021) -> str:
    if key in SINGLE_ROWS:
        return SINGLE_ROWS[key]
    group, _, number = key.partition(".")
    name, subs = GROUPS[group]
    if group_size(group, fmt) == 1:
        return f"三、{name}"
    return f"三、{name} {number}.{subs[int(number) - 1]}"


# -- table 四 -----------------------------------------------------------------------

T4_GROUPS = (
    ("reconsideration", "行政复议"),
    ("litigation_direct", "行政诉讼（未经复议直接起诉）"),
    ("litigation_after_reconsideration", "行政诉讼（复议后起诉）"),
)
T4_COLUMNS = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)

# -- table 二 -----------------------------------------------------------------------

T2_ROWS = {
    "rules": "规章",
    "normative_documents": "规范性文件",
    "licensing": "行政许可",
    "other_services": "其他对外管理服务事项",
    "penalties": "行政处罚",
    "coercion": "行政强制",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
T2_FIELD_LABELS = {
    "issued": "本年制发件数",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
    "made": "本年新制作数量",
    "published": "本年新公开数量",
    "total_published": "对外公开总数量",
    "previous_items": "上一年项目数量",
    "change": "本年增/减",
    "decisions": "处理决定数量",
    "items": "采购项目数量",
    "amount": "金额（万元）",
}
_DOCUMENT_FIELDS = {FORMAT_2021: ("issued", "repealed", "in_force"), FORMAT_2019: ("made", "published", "total_published")}  # fmt: skip
_MATTER_FIELDS = {FORMAT_2021: ("decisions",), FORMAT_2019: ("previous_items", "change", "decisions")}  # fmt: skip


def t2_fields(fmt: int) -> dict[str, tuple[str, ...]]:
    """Each row of table 二 in a format and its columns, in order."""
    matters = _MATTER_FIELDS[fmt]
    if fmt == FORMAT_2021:
        return {
            "rules": _DOCUMENT_FIELDS[fmt],
            "normative_documents": _DOCUMENT_FIELDS[fmt],
            "licensing": matters,
            "penalties": matters,
            "coercion": matters,
            "fees": ("amount",),
        }
    return {
        "rules": _DOCUMENT_FIELDS[fmt],
        "normative_documents": _DOCUMENT_FIELDS[fmt],
        "licensing": matters,
        "other_services": matters,
        "penalties": matters,
        "coercion": matters,
        "fees": ("previous_items", "change"),
        "procurement": ("items", "amount"),
    }

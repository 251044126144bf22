"""The Chinese words the pages show for the service's codes (GLOSSARY.md); a code
without a word here is shown as it is."""

from __future__ import annotations

from datetime import datetime

from service.domain.filing import Category, Destination
from service.domain.time import shanghai

STATUS = {
    "reserved": "归档中",
    "abandoned": "归档失败",
    "archived": "已归档，待投递",
    "published": "已公开",
    "delivery_failed": "投递失败",
    "superseded": "已被更正版本取代",
    "withdrawn": "已撤回",
}
DELIVERY_STATUS = {
    "pending": "待投递",
    "delivered": "已投递",
    "failed": "投递失败",
    "superseded": "已被取代",
    "held": "暂缓发布",
    "cancelled": "已取消",
    "not_enabled": "未开通",
}
TAKEDOWN = {
    "withdrawing": "撤稿中",
    "withdrawn": "已撤稿",
    "not_published": "未曾发布，无需撤稿",
    "failed": "撤稿失败",
    "manual": "须人工撤回",
    "cancelled": "已取消投递",
}
ACTION = {"publish": "发布", "replace": "替换平台已有报告", "withdraw": "撤稿"}
BUDGET_KIND = {"budget": "预算", "final_accounts": "决算"}
REVIEW = {
    "RECEIVED": "审核中",
    "ACCEPTED": "通过",
    "RETURNED": "退回",
    "UNKNOWN_RECEIPT": "平台查无此回执",
}
ATTEMPT = {"delivered": "成功", "retry": "稍后重试", "failed": "失败"}
ROLE = {"operator": "经办人", "compliance": "合规人员", "admin": "管理员"}
SEVERITY = {"error": "问题", "warning": "提示"}
LEVEL = {"department": "部门", "district_government": "区人民政府"}


def category(code: str) -> str:
    return Category(code).label_zh if code in Category else code


def destination(code: str) -> str:
    return Destination(code).label_zh if code in Destination else code


def beijing(moment: object) -> str:
    """An ISO time (the API's, in UTC) as people here read it: Beijing time, to the second."""
    if not moment:
        return ""
    try:
        return shanghai(datetime.fromisoformat(str(moment))).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return str(moment)


def word(table: dict[str, str], code: object) -> str:
    return table.get(str(code), str(code)) if code is not None else ""


FILTERS = {
    "category": category,
    "destination": destination,
    "status_zh": lambda code: word(STATUS, code),
    "delivery_zh": lambda code: word(DELIVERY_STATUS, code),
    "attempt_zh": lambda code: word(ATTEMPT, code),
    "beijing": beijing,
    "review_zh": lambda code: word(REVIEW, code),
    "role_zh": lambda code: word(ROLE, code),
    "severity_zh": lambda code: word(SEVERITY, code),
    "level_zh": lambda code: word(LEVEL, code),
    "takedown_zh": lambda code: word(TAKEDOWN, code),
    "action_zh": lambda code: word(ACTION, code),
}

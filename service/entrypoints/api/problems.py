"""Pydantic's validation errors as problems an operator can read: the field by its path,
what is wrong in Chinese, pydantic's English beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_ZH_BY_TYPE = {
    "missing": "缺少此项",
    "extra_forbidden": "不认识此项（多余字段）",
    "string_type": "应为文本",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不符",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "less_than": "数值过大",
    "enum": "不是允许的取值之一",
    "literal_error": "不是允许的取值之一",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "date_type": "应为日期（YYYY-MM-DD）",
    "datetime_from_date_parsing": "应为带时区的时间（如 2026-01-01T09:00:00+08:00）",
    "datetime_parsing": "应为带时区的时间（如 2026-01-01T09:00:00+08:00）",
    "timezone_aware": "须带时区（如 +08:00）",
    "dict_type": "应为对象（JSON object）",
    "model_type": "应为对象（JSON object）",
    "list_type": "应为列表（JSON array）",
    "too_long": "项数过多",
    "too_short": "项数过少",
    "json_invalid": "不是有效的 JSON",
}


def _field(loc: Iterable[Any]) -> str:
    """`('body', 'review', 'reviewer')` → `review.reviewer`; list positions as `[n]`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("body", "query", "path", "header"):
            path += f".{part}" if path else str(part)
    return path or "（整体）"


def _zh(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", ""))
    if "含控制字符" in message:
        return "含控制字符（NUL、换行等不可见字符）"
    return _ZH_BY_TYPE.get(str(error.get("type", "")), "取值无效")


def problems(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "loc": list(e.get("loc", ())),
            "field": _field(e.get("loc", ())),
            "msg_zh": _zh(e),
            "msg": e.get("msg", ""),
        }
        for e in errors
    ]


def first_zh(found: list[dict[str, Any]]) -> str:
    """The first problem, for the message: 「：字段 period 格式不符」 (and how many more)."""
    if not found:
        return ""
    head = f"：字段 {found[0]['field']} {found[0]['msg_zh']}"
    return head if len(found) == 1 else f"{head}（另有 {len(found) - 1} 处）"


def first_en(found: list[dict[str, Any]]) -> str:
    if not found:
        return ""
    head = f": {found[0]['field']}: {found[0]['msg']}"
    return head if len(found) == 1 else f"{head} (and {len(found) - 1} more)"

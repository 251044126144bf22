"""The filing form's fields as the API's metadata, and back (a correction's form)."""

from __future__ import annotations

import pytest

from service.domain import errors
from service.entrypoints.pages.filing_form import fields_of, metadata_of
from tests.support.bodies import NANKAI_NAME, NANKAI_OFFICE

ENVELOPE = {"org_code": NANKAI_OFFICE, "period": "2024", "reviewer": "李明",
            "reviewed_on": "2024-01-11", "review_result": "同意公开"}  # fmt: skip


def test_only_the_chosen_categorys_fields_are_read() -> None:
    fields = {
        **ENVELOPE,
        "category": "budget_final_accounts",
        "budget_kind": "budget",
        "budget_approved_on": "2024-01-05",
        "leader_0_name": "张伟",  # another kind's: ignored
        "livelihood_field": "教育",
    }
    metadata = metadata_of(fields, org_name=NANKAI_NAME)
    assert metadata.budget is not None and metadata.budget.kind == "budget"
    assert str(metadata.budget.approved_on) == "2024-01-05"
    assert metadata.leadership is None and metadata.livelihood is None
    assert metadata.review is not None and metadata.review.reviewer == "李明"


def test_leaders_are_the_rows_filled_in() -> None:
    fields = {**ENVELOPE, "category": "leadership", "period": "2024-01-05",
              "leader_0_name": "张伟", "leader_0_post": "主任", "leader_0_duties": "主持全面工作",
              "leader_2_name": "李娜", "leader_2_post": "副主任", "leader_2_duties": "分管招商",
              "leader_2_photo": "lina.jpg"}  # fmt: skip
    metadata = metadata_of(fields, org_name=NANKAI_NAME)
    assert metadata.leadership is not None
    assert [(x.name, x.post, x.photo) for x in metadata.leadership.leaders] == [
        ("张伟", "主任", None),
        ("李娜", "副主任", "lina.jpg"),
    ]


def test_waivers_a_reason_and_a_beijing_release_time() -> None:
    fields = {**ENVELOPE, "category": "rule_of_law_report", "reason": " 更正数据 ",
              "publish_at": "2024-02-01T09:00", "waiver_1_code": "rol_late",
              "waiver_1_reason": "延期经批准"}  # fmt: skip
    metadata = metadata_of(fields, org_name=NANKAI_NAME)
    assert [(w.code, w.reason) for w in metadata.waivers] == [("rol_late", "延期经批准")]
    assert metadata.reason == "更正数据"
    assert metadata.publish_at is not None
    assert metadata.publish_at.isoformat() == "2024-02-01T09:00:00+08:00"


def test_a_bad_field_is_named() -> None:
    fields = {**ENVELOPE, "category": "budget_final_accounts", "budget_approved_on": "明天"}
    with pytest.raises(errors.InvalidInput) as refused:
        metadata_of(fields, org_name=NANKAI_NAME)
    assert refused.value.code == "invalid_metadata"
    assert "budget.approved_on" in str(refused.value.detail["problems"])


def test_a_versions_metadata_fills_the_form_again_but_not_its_reason() -> None:
    fields = {**ENVELOPE, "category": "organization", "period": "2024-03-05",
              "organization_functions": "对口支援", "organization_phone": "022-27350000",
              "unit_0_name": "办公室", "unit_0_duties": "文电", "reason": "旧的更正原因",
              "publish_at": "2024-04-01T09:30"}  # fmt: skip
    metadata = metadata_of(fields, org_name=NANKAI_NAME).model_dump(mode="json")
    again = fields_of(metadata)
    assert {k: again[k] for k in fields if k != "reason"} == {
        k: v for k, v in fields.items() if k != "reason"
    }
    assert "reason" not in again
    assert (
        metadata_of(again, org_name=NANKAI_NAME).organization
        == metadata_of(fields, org_name=NANKAI_NAME).organization
    )

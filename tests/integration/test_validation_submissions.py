"""Validation as a submission meets it: the 保密审查 record for the portal, waivers
honoured for an admin and archived, audited and shown, last year's 年报 from the catalog,
and POST /v1/validations for every category. SQLite and a filesystem archive in a
temporary directory; the API through a real client on 127.0.0.1."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container, build_container
from service.domain.access import Principal, Role
from service.domain.errors import Rejected
from service.domain.metadata import FilingMetadata
from service.entrypoints.api.app import create_app
from service.entrypoints.api.views import filing_view
from service.settings import Settings
from service.uploads import Upload, spool
from service.usecases.ingest import Origin, check_filing, submit_filing
from tests.support.bodies import NANKAI_OFFICE, sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import annual_report_docx, annual_report_tables
from tests.support.servers import app_in_thread

DEMO = "demo-validation-token"
ADMIN = Principal("admin-li", Role.ADMIN, frozenset({"*"}))
OPERATOR = Principal("operator-wang", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
REASON = "经核实，表三数据以区政务服务中心台账为准，差异系统计口径调整所致"


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = Settings.model_validate(
        {
            "data_dir": tmp_path / "var",
            "demo_token": DEMO,
            "orgs_file": write_registry(tmp_path),
            # only the portal: the legal platform's own rules are not what this file tests
            "routes": {
                "rule_of_law_report": ["portal"],
                "gov_info_annual_report": ["portal"],
                "leadership": ["portal"],
                "organization": ["portal"],
                "budget_final_accounts": [],
                "livelihood": ["portal"],
            },
        }
    )
    container = build_container(settings, clock=FakeClock())
    yield container
    container.close()


def _upload(tmp_path: Path, content: bytes, name: str) -> Upload:
    return spool([content], name, 10 * 1024 * 1024, tmp_path)


def _annual_report(
    period: str = "2023", tables: dict[str, Any] | None = None, **extra: Any
) -> FilingMetadata:
    return FilingMetadata.model_validate(
        sample_metadata(
            category="gov_info_annual_report",
            period=period,
            annual_report=tables or annual_report_tables(),
            **extra,
        )
    )


def _broken_tables() -> dict[str, Any]:
    tables = copy.deepcopy(annual_report_tables())
    tables["table3"]["disclosed"]["natural_person"] = 3
    tables["table3"]["disclosed"]["total"] = 4
    return tables


def _codes(findings: list[Any]) -> set[str]:
    return {f.code for f in findings}


def test_a_filing_for_the_portal_without_a_review_record_is_refused(
    container: Container, tmp_path: Path
) -> None:
    metadata = FilingMetadata.model_validate(
        {k: v for k, v in sample_metadata().items() if k != "review"}
    )
    upload = _upload(tmp_path, annual_report_docx(), "年报.docx")
    with pytest.raises(Rejected) as refused:
        submit_filing(container.ingest, OPERATOR, metadata, upload, Origin())
    assert "review_missing" in _codes(refused.value.findings)
    assert container.catalog.count_deliveries() == 0


def test_a_filing_bound_nowhere_needs_no_review_record(
    container: Container, tmp_path: Path
) -> None:
    text = "南开区合作交流办2023年度部门决算\n基本支出 项目支出 机关运行经费\n".encode()
    metadata = FilingMetadata.model_validate(
        {
            **{k: v for k, v in sample_metadata().items() if k != "review"},
            "category": "budget_final_accounts",
            "budget": {"kind": "final_accounts", "approved_on": "2024-01-05"},
        }
    )
    check = check_filing(container.ingest, metadata, _upload(tmp_path, text, "决算.txt"))
    assert "review_missing" not in _codes(check.findings)
    assert check.valid


def test_an_admins_waiver_is_honoured_archived_audited_and_shown(
    container: Container, tmp_path: Path
) -> None:
    tables = _broken_tables()
    metadata = _annual_report(
        tables=tables, waivers=[{"code": "gia_t3_results_total", "reason": REASON}]
    )
    upload = _upload(tmp_path, annual_report_docx(tables=tables), "年报.docx")
    filing = submit_filing(container.ingest, ADMIN, metadata, upload, Origin()).filing
    version = filing.versions[-1]
    waived = [f for f in version.findings if f.get("waived_by")]
    assert [(f["code"], f["waived_by"], f["waiver_reason"]) for f in waived] == [
        ("gia_t3_results_total", "admin-li", REASON)
    ]
    package = container.settings.data_dir / "archive" / version.package_prefix / "data"
    archived = json.loads((package / "metadata.json").read_text("utf-8"))
    assert archived["waivers"] == [
        {"code": "gia_t3_results_total", "reason": REASON, "waived_by": "admin-li", "findings": 1}
    ]
    assert archived["submitted"]["waivers"] == [{"code": "gia_t3_results_total", "reason": REASON}]
    (event,) = [e for e in container.catalog.audit_events() if e.action == "filing.submitted"]
    assert event.detail["waivers"] == archived["waivers"]
    shown = filing_view(filing)["versions"][-1]["waivers"]
    assert shown == [{"code": "gia_t3_results_total", "reason": REASON, "waived_by": "admin-li"}]


def test_an_operators_waiver_is_not_honoured(container: Container, tmp_path: Path) -> None:
    tables = _broken_tables()
    metadata = _annual_report(
        tables=tables, waivers=[{"code": "gia_t3_results_total", "reason": REASON}]
    )
    upload = _upload(tmp_path, annual_report_docx(tables=tables), "年报.docx")
    with pytest.raises(Rejected) as refused:
        submit_filing(container.ingest, OPERATOR, metadata, upload, Origin())
    assert {"gia_t3_results_total", "waiver_not_permitted"} <= _codes(refused.value.findings)


def test_last_years_annual_report_in_the_catalog_is_checked_against(
    container: Container, tmp_path: Path
) -> None:
    last_year = copy.deepcopy(annual_report_tables())
    last_year["table3"]["carried_forward"]["natural_person"] = 2
    last_year["table3"]["carried_forward"]["total"] = 2
    last_year["table3"]["total"]["natural_person"] = 3
    last_year["table3"]["total"]["total"] = 5
    last_year["table3"]["disclosed"]["natural_person"] = 1
    last_year["table3"]["disclosed"]["total"] = 2
    text_2022 = "南开区合作交流办2022年政府信息公开工作年度报告\n一、总体情况\n二、主动公开政府信息情况\n三、收到和处理政府信息公开申请情况\n四、政府信息公开行政复议、行政诉讼情况\n五、存在的主要问题及改进情况\n六、其他需要报告的事项\n"
    submit_filing(
        container.ingest,
        ADMIN,
        _annual_report("2022", last_year, waivers=[{"code": "gia_late", "reason": REASON}]),
        _upload(tmp_path, text_2022.encode(), "2022年报.txt"),
        Origin(),
    )
    check = check_filing(
        container.ingest, _annual_report(), _upload(tmp_path, annual_report_docx(), "年报.docx")
    )
    assert check.valid
    assert [(f.code, f.where) for f in check.findings] == [
        ("gia_carry_over_mismatch", "表三“二、上年结转”行“自然人”列"),
        ("gia_carry_over_mismatch", "表三“二、上年结转”行“总计”列"),
    ]


# -- POST /v1/validations, for every category --------------------------------------------------


@pytest.fixture
def api(container: Container) -> Iterator[httpx.Client]:
    with (
        app_in_thread(create_app(container.api())) as url,
        httpx.Client(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {DEMO}"}
        ) as client,
    ):
        yield client


LEADERS = {"leaders": [{"name": "张伟", "post": "主任", "duties": "主持全面工作"}]}
VALIDATIONS = [
    ("leadership", {"category": "leadership", "period": "2024-01-05", "leadership": LEADERS}, "南开区合作交流办领导信息\n主任：张伟，主持全面工作。", set()),
    ("leadership-with-an-id-number", {"category": "leadership", "period": "2024-01-05", "leadership": LEADERS}, "主任：张伟，身份证号120104198503120026，主持全面工作。", {"pii_id_number"}),
    ("organization-missing-hours", {"category": "organization", "period": "2024-01-05"}, "主要职责：对口支援。内设机构：办公室。办公地址：红旗路1号。联系电话：022-27350000", {"organization_field_missing"}),
    ("livelihood", {"category": "livelihood", "period": "2024-01-08", "title": "招生安排", "livelihood": {"field": "教育"}}, "招生安排\n2024年春季学期义务教育阶段学校招生工作按照就近入学原则进行，报名时间为3月1日至3月10日。", set()),
    ("gov-info-without-review", {"category": "gov_info_annual_report", "review": None}, None, {"review_missing"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "text", "expected"), [v[1:] for v in VALIDATIONS], ids=[v[0] for v in VALIDATIONS]
)
def test_validations_answer_200_with_findings_and_store_nothing(
    api: httpx.Client,
    container: Container,
    changes: dict[str, Any],
    text: str | None,
    expected: set[str],
) -> None:
    metadata = {k: v for k, v in sample_metadata(**changes).items() if v is not None}
    content, name = (text.encode(), "item.txt") if text else (annual_report_docx(), "年报.docx")
    response = api.post(
        "/v1/validations",
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": (name, content)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    errors = {f["code"] for f in body["findings"] if f["severity"] == "error"}
    assert errors == expected
    assert body["valid"] is (not expected)
    assert container.catalog.count_deliveries() == 0


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (b"%PDF-1.7\n" + b"\x00" * 100 + b"\n%%EOF\n", "a.pdf", "file_unreadable"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "a.docx", "file_type_unsupported"),
        (b"PK\x03\x04" + b"\xff" * 100, "a.docx", "file_unreadable"),
    ],
    ids=["corrupt-pdf", "image-named-docx", "garbage-zip"],
)
def test_bad_files_are_findings_never_a_500(
    api: httpx.Client, content: bytes, name: str, code: str
) -> None:
    response = api.post(
        "/v1/validations",
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": (name, content)},
    )
    assert response.status_code == 200
    assert code in {f["code"] for f in response.json()["findings"]}


def test_details_of_another_category_are_a_400(api: httpx.Client) -> None:
    metadata = sample_metadata(leadership=LEADERS)  # a rule_of_law_report
    response = api.post(
        "/v1/validations",
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": ("a.txt", "正文".encode())},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_metadata"

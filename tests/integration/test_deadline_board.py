"""The deadline board of a district (公开期限看板) through the real API, in JSON, CSV and
XLSX; who sees what; exemptions (免报) for admins only, archived and brought back by a
catalog rebuild; the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
import schemathesis

from service.bootstrap import Container
from service.catalog.database import make_engine, make_sessions, migrate
from service.catalog.sql import SqlCatalog
from service.catalog.sql.restore import CatalogRestore
from service.entrypoints.api.app import create_app
from service.usecases.deadlines import DeadlineBoard
from service.usecases.recovery import rebuild_catalog
from tests.support.board import file_on
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata, uscc
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

DISTRICT = uscc("11120104MB0000003")
ADMIN = "admin-token-for-every-body-00000001"
AUDITOR = "compliance-token-for-every-body-001"
OPERATOR = "operator-token-for-the-justice-bureau"
DEMO = "demo-operator-token-for-every-body-1"
YEAR_KINDS = "[rule_of_law_report, gov_info_annual_report, budget_final_accounts, livelihood]"
REGISTRY = f"""
bodies:
  - org_code: "{NANKAI_OFFICE}"
    name: 天津市南开区合作交流办公室
    aliases: [南开区合作交流办]
    level: department
    categories: {YEAR_KINDS}
  - org_code: "{OTHER_BODY}"
    name: 天津市南开区司法局
    level: department
    categories: {YEAR_KINDS}
  - org_code: "{DISTRICT}"
    name: 天津市南开区人民政府
    level: district_government
    categories: [rule_of_law_report, gov_info_annual_report]
"""
AS_OF = "2024-04-15"
FORMULA_REASON = "=1+2 机构撤并，年报由区政府统一公开"

# (org_code, category, kind) → (state, due_on), for 2023 as of 2024-04-15
EXPECTED = {
    (NANKAI_OFFICE, "rule_of_law_report", None): ("on_time", "2024-03-31"),
    (NANKAI_OFFICE, "gov_info_annual_report", None): ("late", "2024-01-31"),
    (NANKAI_OFFICE, "budget_final_accounts", "budget"): ("on_time", "2023-03-02"),
    (NANKAI_OFFICE, "budget_final_accounts", "final_accounts"): ("not_yet_due", "2024-08-20"),
    (NANKAI_OFFICE, "livelihood", None): ("late", "2023-03-29"),
    (OTHER_BODY, "rule_of_law_report", None): ("missing", "2024-03-31"),
    (OTHER_BODY, "gov_info_annual_report", None): ("exempt", "2024-01-31"),
    (OTHER_BODY, "budget_final_accounts", "budget"): ("late", "2023-02-21"),
    (OTHER_BODY, "budget_final_accounts", "final_accounts"): ("not_yet_due", "2024-08-20"),
    (DISTRICT, "rule_of_law_report", None): ("late", "2024-03-31"),
    (DISTRICT, "gov_info_annual_report", None): ("on_time", "2024-03-31"),
}
STATE_ZH = {
    "on_time": "按时",
    "late": "逾期",
    "missing": "未报送",
    "not_yet_due": "未到期",
    "exempt": "免报",
}


@pytest.fixture
def service_settings(tmp_path: Path) -> dict[str, Any]:
    registry = tmp_path / "district.yaml"
    registry.write_text(REGISTRY, encoding="utf-8")
    grants = [
        ("admin", ADMIN, "admin", ["*"]),
        ("auditor", AUDITOR, "compliance", ["*"]),
        ("justice-operator", OPERATOR, "operator", [OTHER_BODY]),
    ]
    return {
        "orgs_file": registry,
        "demo_token": DEMO,
        "tokens": [{"name": n, "token": t, "role": r, "orgs": o} for n, t, r, o in grants],
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _exempt(api: httpx.Client, token: str = ADMIN, **overrides: str) -> httpx.Response:
    body = {
        "org_code": OTHER_BODY,
        "category": "gov_info_annual_report",
        "period": "2023",
        "reason": FORMULA_REASON,
        **overrides,
    }
    return api.post("/v1/compliance/exemptions", json=body, headers=_auth(token))


@pytest.fixture
def district(api: httpx.Client, container: Container) -> Container:
    """The district's 2023 filings: the office's rule-of-law report through the API on
    2024-01-12 (the clock's day), the others straight into the catalog on their days."""
    sample = docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))
    submitted = api.post(
        "/v1/filings",
        headers=_auth(DEMO),
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": ("report.docx", sample)},
    )
    assert submitted.status_code == 201, submitted.text
    catalog, clock = container.catalog, container.clock
    assert isinstance(clock, FakeClock)

    def filed(day: date, org: str, category: str, period: str = "2023", **more: Any) -> None:
        file_on(catalog, clock, day, org_code=org, category=category, period=period, **more)

    filed(date(2024, 2, 5), NANKAI_OFFICE, "gov_info_annual_report")
    budget = {"variant": "budget"}
    filed(
        date(2023, 2, 20),
        NANKAI_OFFICE,
        "budget_final_accounts",
        approved_on=date(2023, 2, 10),
        **budget,
    )
    filed(date(2023, 6, 1), NANKAI_OFFICE, "livelihood", "2023-03-01")  # late
    filed(date(2023, 5, 10), NANKAI_OFFICE, "livelihood", "2023-05-04")  # in time: not listed
    filed(
        date(2023, 3, 15),
        OTHER_BODY,
        "budget_final_accounts",
        approved_on=date(2023, 2, 1),
        **budget,
    )
    filed(date(2024, 4, 2), DISTRICT, "rule_of_law_report")
    filed(date(2024, 3, 20), DISTRICT, "gov_info_annual_report")  # a department's would be late
    assert _exempt(api).status_code == 201
    return container


def _board(api: httpx.Client, token: str = AUDITOR, **params: str) -> httpx.Response:
    return api.get(
        "/v1/compliance/deadlines",
        params={"year": "2023", "as_of": AS_OF, **params},
        headers=_auth(token),
    )


def _states(items: list[dict[str, Any]]) -> dict[tuple[str, str, str | None], tuple[str, str]]:
    return {(i["org_code"], i["category"], i["kind"]): (i["state"], i["due_on"]) for i in items}


def test_the_district_board_shows_each_body_and_kind_on_time_late_missing_not_yet_due_or_exempt(
    api: httpx.Client, district: Container
) -> None:
    answer = _board(api)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    assert _states(items) == EXPECTED
    assert len(items) == len(EXPECTED), "the event item filed in time is not listed"
    by_key = {(i["org_code"], i["category"], i["kind"]): i for i in items}
    report = by_key[(NANKAI_OFFICE, "rule_of_law_report", None)]
    assert report["filing_id"].startswith("fil_") and report["filed_on"] == "2024-01-12"
    assert (
        by_key[(OTHER_BODY, "gov_info_annual_report", None)]["exemption_reason"] == FORMULA_REASON
    )
    assert by_key[(NANKAI_OFFICE, "livelihood", None)]["period"] == "2023-03-01"
    assert by_key[(OTHER_BODY, "rule_of_law_report", None)]["filing_id"] is None


def test_the_board_as_csv_opens_in_excel_with_chinese_headers_and_escaped_formulas(
    api: httpx.Client, district: Container
) -> None:
    answer = _board(api, format="csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "deadlines-2023.csv" in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:7] == ["单位代码", "单位名称", "类别", "预算/决算", "期间", "公开期限", "状态"]
    assert _table_states(rows) == _expected_zh()
    assert "'" + FORMULA_REASON in [r[10] for r in rows[1:]]


def test_the_board_as_xlsx_reads_back_with_the_same_states(
    api: httpx.Client, district: Container
) -> None:
    answer = _board(api, format="xlsx")
    assert answer.status_code == 200
    assert "spreadsheetml" in answer.headers["content-type"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    rows = [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]
    assert rows[0][6] == "状态"
    assert _table_states(rows) == _expected_zh()
    assert "'" + FORMULA_REASON in [r[10] for r in rows[1:]]


def _table_states(rows: list[list[str]]) -> dict[tuple[str, str, str], tuple[str, str]]:
    return {(r[0], r[2], r[3]): (r[6], r[5]) for r in rows[1:]}


def _expected_zh() -> dict[tuple[str, str, str], tuple[str, str]]:
    labels = {
        "rule_of_law_report": "法治政府建设情况报告",
        "gov_info_annual_report": "政府信息公开工作年度报告",
        "budget_final_accounts": "部门预算/决算",
        "livelihood": "重大民生信息",
    }
    kinds = {None: "", "budget": "部门预算", "final_accounts": "部门决算"}
    return {
        (org, labels[category], kinds[kind]): (STATE_ZH[state], due)
        for (org, category, kind), (state, due) in EXPECTED.items()
    }


def test_an_operator_sees_only_its_own_bodies(api: httpx.Client, district: Container) -> None:
    mine = _board(api, OPERATOR)
    assert mine.status_code == 200
    assert {i["org_code"] for i in mine.json()["items"]} == {OTHER_BODY}
    assert _board(api, OPERATOR, org_code=NANKAI_OFFICE).status_code == 403
    one = _board(api, AUDITOR, org_code=DISTRICT).json()["items"]
    assert {i["org_code"] for i in one} == {DISTRICT} and len(one) == 2


def test_unknown_parameters_and_bad_values_are_refused(
    api: httpx.Client, container: Container
) -> None:
    assert _board(api, orgcode=NANKAI_OFFICE).json()["error"]["code"] == "unknown_parameter"
    assert _board(api, as_of="2024-13-01").status_code == 400
    for not_a_day in ("0", "1704067200", "2024-3-5", "20240305"):  # pydantic reads 0 as 1970
        refused = _board(api, as_of=not_a_day)
        assert refused.status_code == 400, (not_a_day, refused.text)
        assert "YYYY-MM-DD" in refused.json()["error"]["message_zh"]
    assert _board(api, format="pdf").status_code == 400
    missing_year = api.get("/v1/compliance/deadlines", headers=_auth(AUDITOR))
    assert missing_year.status_code == 400
    assert api.get("/v1/compliance/deadlines", params={"year": "2023"}).status_code == 401


def test_as_of_defaults_to_today_in_shanghai(api: httpx.Client, container: Container) -> None:
    # the container's clock: 2024-01-12 09:00 in Shanghai; the department's 年报 is not yet due
    answer = api.get(
        "/v1/compliance/deadlines",
        params={"year": "2023", "org_code": OTHER_BODY},
        headers=_auth(AUDITOR),
    )
    items = answer.json()["items"]
    assert _states(items)[(OTHER_BODY, "gov_info_annual_report", None)] == (
        "not_yet_due",
        "2024-01-31",
    )
    assert _states(items)[(OTHER_BODY, "budget_final_accounts", "budget")][0] == "missing"


def test_only_an_admin_may_exempt_and_only_once(api: httpx.Client, container: Container) -> None:
    assert _exempt(api, AUDITOR).status_code == 403
    assert _exempt(api, OPERATOR).status_code == 403
    created = _exempt(api)
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "admin"
    again = _exempt(api, reason="另一个原因")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "exemption_exists")
    assert _exempt(api, period="2022", reason="x").status_code == 400  # too short
    assert _exempt(api, period="2022", category="livelihood").status_code == 400
    assert _exempt(api, period="2022", org_code=uscc("11120104MB0000009")).status_code == 404
    [event] = container.catalog.audit_events("exemption/")
    assert (event.action, event.actor, event.detail["reason"]) == (
        "exemption.granted",
        "admin",
        FORMULA_REASON,
    )


def test_an_exemption_comes_back_from_the_archive_in_a_rebuilt_catalog(
    api: httpx.Client, district: Container, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    clock = FakeClock()
    report = rebuild_catalog(
        CatalogRestore(make_sessions(engine), clock=clock),
        district.store,
        district.packages,
        now=clock(),
    )
    rebuilt = SqlCatalog(make_sessions(engine), clock=clock)
    board = DeadlineBoard(rebuilt, district.registry, _due(district), clock)
    rows = board.rows(2023, visible=None, as_of=date(2024, 4, 15), org_code=OTHER_BODY)
    engine.dispose()

    assert report.ok and report.exemptions == 1
    [exempt] = [r for r in rows if r.category == "gov_info_annual_report"]
    assert (exempt.state.value, exempt.exemption_reason) == ("exempt", FORMULA_REASON)
    assert rebuilt.exemptions(None) == district.catalog.exemptions(None)


def _due(container: Container) -> Any:
    from service.configured import due_dates

    return due_dates(container.settings)


def test_the_cli_adds_and_lists_exemptions(container: Container) -> None:
    """As an admin runs it: the `disclosure` command, a process of its own."""
    env = {
        **os.environ,
        "DISCLOSURE_DATA_DIR": str(container.settings.data_dir),
        "DISCLOSURE_ORGS_FILE": str(container.settings.orgs_file),
        "DISCLOSURE_LOG_FORMAT": "json",
    }
    add = ["exemptions", "add", "--org", DISTRICT, "--category", "rule_of_law_report"]
    add += ["--period", "2023", "--reason", "区划调整"]
    added = _disclosure(add, env)
    assert added.returncode == 0, added.stderr
    again = _disclosure(add, env)
    assert again.returncode == 2 and "exemption_exists" in again.stderr
    listed = _disclosure(["exemptions", "list", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["org_code"], row["reason"], row["created_by"]) == (DISTRICT, "区划调整", "cli")
    assert container.store.stat(f"decisions/exemptions/2023/{DISTRICT}/rule_of_law_report.json")


def _disclosure(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "disclosure"
    return subprocess.run(
        [str(command), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_board_and_exemption_answers_match_the_openapi_document(
    api: httpx.Client, district: Container
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(district.api()))
    exchanges = [
        ("/v1/compliance/deadlines", "GET", _board(api)),
        ("/v1/compliance/deadlines", "GET", _board(api, format="csv")),
        ("/v1/compliance/deadlines", "GET", _board(api, format="xlsx")),
        ("/v1/compliance/deadlines", "GET", _board(api, OPERATOR, org_code=NANKAI_OFFICE)),
        ("/v1/compliance/exemptions", "POST", _exempt(api, period="2022")),
        ("/v1/compliance/exemptions", "POST", _exempt(api, period="2022")),
    ]
    assert [r.status_code for _, _, r in exchanges] == [200, 200, 200, 403, 201, 409]
    for path, method, response in exchanges:
        schema[path][method].validate_response(response)

"""A filing names its body as the registry does (issue 11): an operator of one body may
not file under another body's name. An alias is that body's name too."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from service.domain.filing import Category, Destination
from service.domain.findings import Severity
from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation, OrgRegistry
from service.uploads import spool
from service.usecases.checking import check_submission
from tests.support.bodies import NANKAI_NAME, NANKAI_OFFICE, sample_metadata
from tests.support.checks import checks_for
from tests.support.documents import SAMPLE_PATH

BODY = Organisation(NANKAI_OFFICE, NANKAI_NAME, aliases=("南开区合作交流办",))


def _name_findings(org_name: str, *, production: bool, tmp_path: Path) -> list[Severity]:
    checks = replace(
        checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]}),
        registry=OrgRegistry.of([BODY]),
        require_registered_body=production,
    )
    metadata = FilingMetadata.model_validate(sample_metadata(org_name=org_name))
    upload = spool([SAMPLE_PATH.read_bytes()], "report.txt", 10**7, tmp_path)
    check = check_submission(checks, metadata, upload, received_on=date(2024, 1, 12))
    return [f.severity for f in check.findings if f.code == "org_name_mismatch"]


@pytest.mark.parametrize(
    "name", [NANKAI_NAME, "南开区合作交流办", " 南开区 合作交流办 ", "南开区\u3000合作交流办"]
)
def test_the_registrys_name_or_an_alias_is_the_bodys_name(name: str, tmp_path: Path) -> None:
    assert _name_findings(name, production=True, tmp_path=tmp_path) == []


def test_another_bodys_name_is_refused_in_production(tmp_path: Path) -> None:
    found = _name_findings("天津市人民政府办公厅（假冒）", production=True, tmp_path=tmp_path)
    assert found == [Severity.ERROR]


def test_another_bodys_name_is_a_warning_in_development(tmp_path: Path) -> None:
    found = _name_findings("天津市人民政府办公厅（假冒）", production=False, tmp_path=tmp_path)
    assert found == [Severity.WARNING]

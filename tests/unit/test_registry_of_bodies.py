"""The registry of bodies as an admin writes it: bodies, their levels, and a body's own
account at a destination, its secret named by an environment variable, never written."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.destinations import account_fields
from service.domain.org import Level
from service.orgs import RegistryError, load_registry
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY

ENVIRON = {"NANKAI_LEGAL_SECRET": "s3cr3t-from-the-platform"}


def _load(tmp_path: Path, body: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "orgs.yaml"
    path.write_text(f"bodies:\n  - org_code: '{NANKAI_OFFICE}'\n{body}", encoding="utf-8")
    return load_registry(path, ENVIRON if environ is None else environ, account_fields())


def test_a_body_with_its_own_legal_platform_account(tmp_path: Path) -> None:
    registry = _load(
        tmp_path,
        "    name: 天津市南开区合作交流办公室\n"
        "    level: district_government\n"
        "    accounts:\n"
        "      legal_platform: {app_key: nankai-hezuo, app_secret_env: NANKAI_LEGAL_SECRET}\n",
    )
    body = registry.get(NANKAI_OFFICE)  # type: ignore[attr-defined]
    assert body.level is Level.DISTRICT_GOVERNMENT
    assert body.accounts == {
        "legal_platform": {"app_key": "nankai-hezuo", "app_secret": "s3cr3t-from-the-platform"}
    }
    assert "s3cr3t" not in repr(body)


def test_the_form_before_accounts_is_still_read(tmp_path: Path) -> None:
    registry = _load(
        tmp_path,
        "    name: 南开区合作交流办\n"
        "    legal_platform_app_key: nankai-hezuo\n"
        "    legal_platform_app_secret_env: NANKAI_LEGAL_SECRET\n",
    )
    body = registry.get(NANKAI_OFFICE)  # type: ignore[attr-defined]
    assert body.accounts["legal_platform"]["app_secret"] == "s3cr3t-from-the-platform"


@pytest.mark.parametrize(
    ("account", "environ", "says"),
    [
        ("legal_platform: {app_key: k, app_secret: written-here}", ENVIRON, "app_secret_env"),
        ("legal_platform: {app_key: k}", ENVIRON, "app_secret_env"),
        ("legal_platform: {app_key: k, app_secret_env: NANKAI_LEGAL_SECRET}", {}, "is not set"),
        ("portal: {client_id: k}", ENVIRON, "no destination 'portal' takes"),
        ("fax: {number: '022'}", ENVIRON, "no destination 'fax' takes"),
    ],
)
def test_an_account_that_cannot_work_stops_the_service_and_says_where(
    tmp_path: Path, account: str, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(RegistryError, match=says) as refused:
        _load(tmp_path, f"    name: 南开区合作交流办\n    accounts:\n      {account}\n", environ)
    assert NANKAI_OFFICE in str(refused.value)
    assert "written-here" not in str(refused.value)


def test_a_wrong_check_character_is_refused(tmp_path: Path) -> None:
    wrong = OTHER_BODY[:-1] + ("0" if OTHER_BODY[-1] != "0" else "1")
    path = tmp_path / "orgs.yaml"
    path.write_text(f"bodies:\n  - org_code: '{wrong}'\n    name: 某局\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="统一社会信用代码"):
        load_registry(path, {}, account_fields())

"""Who may open which page, over plain HTTP (no browser needed): each page × role × own
or another body's filing, with the status a person gets, and the API's answer to the
same token for the same thing, which must be the same (one set of rules, one code)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import ADMIN, COMPLIANCE, OPERATOR, OTHER, Served
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY

ROLES = {"office operator": OPERATOR, "other operator": OTHER, "compliance": COMPLIANCE, "admin": ADMIN}  # fmt: skip
OK, INCOMPLETE, FORBIDDEN, NOT_FOUND = 200, 400, 403, 404

# page (method, path) → the API's own (method, path) or None, and the status for each role
# in ROLES' order. {report} is the office's filing, {notice} the other body's.
MATRIX = [
    ("GET /filings", "GET /v1/filings", (OK, OK, OK, OK)),
    ("GET /bodies", None, (OK, OK, OK, OK)),
    ("GET /filings/new", None, (OK, OK, FORBIDDEN, OK)),
    # an empty form: the form again, its fields named (400), for those who may submit
    ("POST /filings/new", None, (INCOMPLETE, INCOMPLETE, FORBIDDEN, INCOMPLETE)),
    ("GET /filings/{report}", "GET /v1/filings/{report}", (OK, NOT_FOUND, OK, OK)),
    ("GET /filings/{notice}", "GET /v1/filings/{notice}", (NOT_FOUND, OK, OK, OK)),
    ("GET /filings/{report}/package", "GET /v1/filings/{report}/package", (OK, NOT_FOUND, OK, OK)),
    ("POST /filings/{report}/verify", "POST /v1/filings/{report}/verify", (OK, NOT_FOUND, OK, OK)),
    ("POST /filings/{notice}/verify", "POST /v1/filings/{notice}/verify", (NOT_FOUND, OK, OK, OK)),
]  # fmt: skip


@pytest.fixture(scope="module")
def signed_in(served: Served) -> Iterator[dict[str, tuple[httpx.Client, str]]]:
    """A signed-in client per role, with its session's CSRF token."""
    clients = {role: _sign_in(served, token) for role, token in ROLES.items()}
    yield clients
    for client, _ in clients.values():
        client.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _sign_in(served: Served, token: str) -> tuple[httpx.Client, str]:
    served.clock.advance(61)  # keep under the per-address limit (all from 127.0.0.1)
    client = httpx.Client(base_url=served.url, timeout=30)
    form = {"csrf_token": _csrf(client.get("/sign-in").text), "token": token}
    assert client.post("/sign-in", data=form).status_code == 303
    return client, _csrf(client.get("/filings").text)


def _path(template: str, served: Served) -> str:
    return template.format(**served.seeded)


@pytest.mark.parametrize(("page", "api", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
@pytest.mark.parametrize("role", list(ROLES))
def test_each_page_answers_each_role_as_the_api_does(
    served: Served,
    signed_in: dict[str, tuple[httpx.Client, str]],
    role: str,
    page: str,
    api: str | None,
    expected: tuple[int, ...],
) -> None:
    _answers_as_the_api_does(served, signed_in, role, page, api, expected)


def _answers_as_the_api_does(
    served: Served,
    signed_in: dict[str, tuple[httpx.Client, str]],
    role: str,
    page: str,
    api: str | None,
    expected: tuple[int, ...],
) -> None:
    status = expected[list(ROLES).index(role)]
    client, csrf = signed_in[role]
    method, template = page.split(" ")
    data = {"csrf_token": csrf} if method == "POST" else None
    files = {"file": ("x.txt", b"x")} if template == "/filings/new" else None
    answer = client.request(method, _path(template, served), data=data, files=files)
    assert answer.status_code == status, answer.text[-500:]
    if api is not None:
        api_method, api_template = api.split(" ")
        bearer = {"Authorization": f"Bearer {ROLES[role]}"}
        same = httpx.request(
            api_method, served.url + _path(api_template, served), headers=bearer, timeout=30
        )
        assert same.status_code == status, same.text[-500:]


# -- acting on a filing (service.entrypoints.pages.actions) ------------------------------
# page (method, path, form) → the API's own (method, path, JSON body) or None, and the
# status for each role in ROLES' order. Nothing here changes a filing: the forms are
# incomplete, the report's deliveries went out (nothing to retry, its release cannot move).
CONFLICT = 409
HOLD = {"action": "hold"}
ACTION_MATRIX = [
    ("GET /filings/{report}/correct", None, None, (OK, NOT_FOUND, FORBIDDEN, OK)),
    ("GET /filings/{notice}/correct", None, None, (NOT_FOUND, OK, FORBIDDEN, OK)),
    # an empty correction: the form again, its fields named (400), for those who may correct
    ("POST /filings/{report}/correct", {}, None, (INCOMPLETE, NOT_FOUND, FORBIDDEN, INCOMPLETE)),
    ("GET /filings/{report}/withdraw", None, None, (OK, NOT_FOUND, OK, OK)),
    ("GET /filings/{notice}/withdraw", None, None, (NOT_FOUND, OK, OK, OK)),
    # no reason and no confirmation: the confirmation page again (400)
    ("POST /filings/{report}/withdraw", {}, None, (INCOMPLETE, NOT_FOUND, INCOMPLETE, INCOMPLETE)),
    ("POST /filings/{report}/deliveries/portal/retry", {}, ("POST /v1/filings/{report}/deliveries/portal/retry", None), (NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND)),
    ("POST /filings/{report}/schedule", HOLD, ("PATCH /v1/filings/{report}/schedule", {"publish_at": None}), (CONFLICT, NOT_FOUND, FORBIDDEN, CONFLICT)),
    ("POST /filings/{notice}/deliveries/portal/retry", {}, ("POST /v1/filings/{notice}/deliveries/portal/retry", None), (NOT_FOUND, NOT_FOUND, FORBIDDEN, NOT_FOUND)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("page", "form", "api", "expected"), ACTION_MATRIX, ids=[m[0] for m in ACTION_MATRIX]
)
@pytest.mark.parametrize("role", list(ROLES))
def test_each_action_page_answers_each_role_as_the_api_does(
    served: Served,
    signed_in: dict[str, tuple[httpx.Client, str]],
    role: str,
    page: str,
    form: dict[str, str] | None,
    api: tuple[str, object] | None,
    expected: tuple[int, ...],
) -> None:
    status = expected[list(ROLES).index(role)]
    client, csrf = signed_in[role]
    method, template = page.split(" ")
    data = {"csrf_token": csrf, **form} if form is not None else None
    files = {"file": ("x.txt", b"x")} if template.endswith("/correct") and data else None
    answer = client.request(method, _path(template, served), data=data, files=files)
    assert answer.status_code == status, answer.text[-500:]
    if api is not None:
        api_method, api_template = api[0].split(" ")
        bearer = {"Authorization": f"Bearer {ROLES[role]}"}
        same = httpx.request(
            api_method,
            served.url + _path(api_template, served),
            headers=bearer,
            json=api[1],
            timeout=30,
        )
        assert same.status_code == status, same.text[-500:]


FORGED = {
    "correct": {"reason": "更正"},
    "withdraw": {"reason": "撤回", "confirm": "yes"},
    "schedule": HOLD,
    "deliveries/portal/retry": {},
}


@pytest.mark.parametrize("action", list(FORGED))
def test_an_action_without_the_forms_csrf_token_is_refused(
    served: Served, signed_in: dict[str, tuple[httpx.Client, str]], action: str
) -> None:
    client, _ = signed_in["admin"]
    form = {"csrf_token": "forged", **FORGED[action]}
    files = {"file": ("x.txt", b"x")} if action == "correct" else None
    answer = client.post(f"/filings/{served.seeded['report']}/{action}", data=form, files=files)
    assert answer.status_code == FORBIDDEN
    assert "CSRF" in answer.text
    filing = served.container.catalog.get_filing(served.seeded["report"])
    assert filing is not None and filing.withdrawal is None and filing.latest_version == 1


# The reading pages (报送列表's search and export, 公开期限看板, 审计日志): the same shape,
# a block of its own. The board of a body: the office's or the other body's.
READING = [
    ("GET /filings?org_name=司法局&title=公告&sort=period&order=asc",
     "GET /v1/filings?org_name=司法局&title=公告&sort=period&order=asc", (OK, OK, OK, OK)),
    ("GET /filings?status=lost", "GET /v1/filings?status=lost", (INCOMPLETE,) * 4),
    ("GET /filings?orgname=南开", "GET /v1/filings?orgname=南开", (INCOMPLETE,) * 4),
    ("GET /filings?submitted_since=0001-01-01",
     "GET /v1/filings?submitted_since=0001-01-01T00:00:00%2B08:00", (INCOMPLETE,) * 4),
    ("GET /filings/export?format=csv&org_name=南开", None, (OK, OK, OK, OK)),
    ("GET /filings/export?format=xlsx", None, (OK, OK, OK, OK)),
    ("GET /filings/export?format=pdf", None, (INCOMPLETE,) * 4),
    ("GET /deadlines", None, (OK, OK, OK, OK)),
    ("GET /deadlines?year=2023", "GET /v1/compliance/deadlines?year=2023", (OK, OK, OK, OK)),
    (f"GET /deadlines?year=2023&org_code={NANKAI_OFFICE}",
     f"GET /v1/compliance/deadlines?year=2023&org_code={NANKAI_OFFICE}",
     (OK, FORBIDDEN, OK, OK)),
    (f"GET /deadlines?year=2023&org_code={OTHER_BODY}",
     f"GET /v1/compliance/deadlines?year=2023&org_code={OTHER_BODY}",
     (FORBIDDEN, OK, OK, OK)),
    ("GET /deadlines/export?year=2023&format=csv",
     "GET /v1/compliance/deadlines?year=2023&format=csv", (OK, OK, OK, OK)),
    (f"GET /deadlines/export?year=2023&format=xlsx&org_code={OTHER_BODY}",
     f"GET /v1/compliance/deadlines?year=2023&format=xlsx&org_code={OTHER_BODY}",
     (FORBIDDEN, OK, OK, OK)),
    ("GET /deadlines?year=20x3", "GET /v1/compliance/deadlines?year=20x3", (INCOMPLETE,) * 4),
    ("GET /audit", "GET /v1/audit", (FORBIDDEN, FORBIDDEN, OK, OK)),
    ("GET /audit?filing_id={report}", "GET /v1/audit?filing_id={report}",
     (FORBIDDEN, FORBIDDEN, OK, OK)),
    (f"GET /audit?org_code={OTHER_BODY}&action=filing.submitted",
     f"GET /v1/audit?org_code={OTHER_BODY}&action=filing.submitted",
     (FORBIDDEN, FORBIDDEN, OK, OK)),
    ("GET /audit?cursor=not-a-cursor", "GET /v1/audit?cursor=not-a-cursor",
     (FORBIDDEN, FORBIDDEN, INCOMPLETE, INCOMPLETE)),
]  # fmt: skip


@pytest.mark.parametrize(("page", "api", "expected"), READING, ids=[r[0] for r in READING])
@pytest.mark.parametrize("role", list(ROLES))
def test_each_reading_page_answers_each_role_as_the_api_does(
    served: Served,
    signed_in: dict[str, tuple[httpx.Client, str]],
    role: str,
    page: str,
    api: str | None,
    expected: tuple[int, ...],
) -> None:
    _answers_as_the_api_does(served, signed_in, role, page, api, expected)

"""单位名录: the registry of bodies (DISCLOSURE_ORGS_FILE), read-only, as far as the
token may see; never the bodies' account secrets."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from service.entrypoints.pages.core import PageDep, PageRoute, SignedIn, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/bodies")
def body_registry(context: PageDep, principal: SignedIn) -> Response:
    bodies = [b for b in context.pages.bodies.bodies.values() if principal.may_act_for(b.org_code)]
    return render(context, "bodies.html", {"bodies": bodies})

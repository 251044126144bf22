"""Dependencies the routes declare: the services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam

from service.domain.access import Principal
from service.entrypoints.api.services import ApiServices


def get_services(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


def get_principal(request: Request) -> Principal:
    principal = get_services(request).tokens.authenticate(request.headers.get("authorization"))
    request.scope.setdefault("state", {})["principal"] = principal.name
    return principal


ServicesDep = Annotated[ApiServices, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]

# A filing id as the service makes them (fil_…); anything else is no filing's.
FilingId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$")]

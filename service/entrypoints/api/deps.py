"""Dependencies the routes declare: the services and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi import Path as PathParam
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.routing import BaseRoute

from service.domain.access import Principal
from service.domain.errors import InvalidInput
from service.entrypoints.api.auth import authenticate
from service.entrypoints.api.services import ApiServices
from service.usecases.ingest import Origin


def get_services(request: Request) -> ApiServices:
    return request.app.state.services  # type: ignore[no-any-return]


# Declared for the OpenAPI document (Swagger's Authorize button); the token registry
# reads the header itself and answers 401 in the service's envelope.
_bearer = HTTPBearer(
    scheme_name="token",
    description="令牌 The bearer token an admin issued (disclosure tokens create, DISCLOSURE_TOKENS)",
    auto_error=False,
)
BearerDeclared = Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)]


def get_principal(request: Request, _declared: BearerDeclared) -> Principal:
    principal = authenticate(get_services(request).tokens, request.headers.get("authorization"))
    request.scope.setdefault("state", {})["principal"] = principal.name
    return principal


def origin_of(request: Request) -> Origin:
    """Where a request came from, for the audit log."""
    client = request.client.host if request.client else None
    return Origin(source=client, request_id=request.scope.get("state", {}).get("request_id"))


ServicesDep = Annotated[ApiServices, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]

# A filing id as the service makes them (fil_…); anything else is no filing's.
FilingId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def known_query_only(request: Request) -> None:
    """A query parameter the route does not take is refused, not ignored: `orgcode=…` for
    `org_code=…` would otherwise list every filing the token sees, as if filtered."""
    unknown = sorted(set(request.query_params) - _query_names(request.scope.get("route")))
    if unknown:
        shown = ", ".join(name[:40] for name in unknown[:5])
        raise InvalidInput(
            f"不支持的查询参数：{shown}",
            f"Unknown query parameter: {shown}",
            code="unknown_parameter",
            detail={"parameters": [name[:40] for name in unknown[:20]]},
        )


def _query_names(route: BaseRoute | None) -> set[str]:
    dependant = getattr(route, "dependant", None)
    return _taken(dependant) if isinstance(dependant, Dependant) else set()


def _taken(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    return names.union(*(_taken(sub) for sub in dependant.dependencies))


KnownQuery = Depends(known_query_only)

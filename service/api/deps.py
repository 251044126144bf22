"""Dependencies the routes declare: the container and the authenticated principal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from service.domain.access import Principal

if TYPE_CHECKING:
    from service.bootstrap import Container


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def get_principal(request: Request) -> Principal:
    principal = get_container(request).tokens.authenticate(request.headers.get("authorization"))
    request.scope.setdefault("state", {})["principal"] = principal.name
    return principal


ContainerDep = Annotated["Container", Depends(get_container)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]

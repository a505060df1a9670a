"""FastAPI dependencies: the container and the authenticated caller, as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from retrieval.identity import Caller
from service.auth import Forbidden, caller_from_headers
from service.container import Container


def get_container(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


ContainerDep = Annotated[Container, Depends(get_container)]


def get_caller(
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
    x_sidekick_user: Annotated[str | None, Header()] = None,
) -> Caller:
    return caller_from_headers(container.keys, authorization, x_sidekick_user)


CallerDep = Annotated[Caller, Depends(get_caller)]


def require_admin(caller: CallerDep) -> Caller:
    if caller.role != "admin":
        raise Forbidden(f"role {caller.role!r} may not use admin routes")
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]

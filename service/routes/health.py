from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.db import sql_healthy
from service.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> JSONResponse:
    """Vector store, SQL store and chat model all answer."""
    checks = {
        "vector_store": _safe(lambda: container.store.healthy()),
        "sql": sql_healthy(container.engine),
        "chat_model": _safe(lambda: container.chat.ready()),
    }
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503)


def _safe(check) -> bool:  # type: ignore[no-untyped-def]
    try:
        return bool(check())
    except Exception:
        return False

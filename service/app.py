"""The app factory: ``create_app(settings)`` builds the container and mounts the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service.container import Container
from service.errors import BodySizeLimit, install_error_handlers
from service.routes import (
    actions,
    admin,
    audit,
    consent,
    health,
    ingest,
    prompts,
    records,
    reviews,
    search,
    session,
    subjects,
)
from service.settings import Settings

STATIC = Path(__file__).parent / "static"
MAX_JSON_BODY = 1024 * 1024
"""Request bodies over this are refused with a 413 problem before a route reads them."""


def create_app(settings: Settings | None = None, *, container: Container | None = None,
               warm_up: bool = False) -> FastAPI:
    settings = settings or (container.settings if container else Settings())
    built = container or Container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up:
            built.warm_up()
        yield
        if container is None:
            built.close()

    app = FastAPI(
        title="Sidekick",
        version="0.1.0",
        description="Grounded, cited CRM actions over your team's records.",
        lifespan=lifespan,
    )
    app.state.container = built
    install_error_handlers(app)
    # JSON bodies up to 1 MB; uploads up to ten files of the ingest size limit.
    app.add_middleware(BodySizeLimit, max_body=MAX_JSON_BODY,
                       max_upload=int(10 * settings.ingest.max_file_mb * 1024 * 1024))
    for module in (health, actions, search, records, session, ingest, admin, audit, subjects, consent, reviews,
                   prompts):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/sidebar", include_in_schema=False)
    def sidebar(tenant: str = "") -> FileResponse:
        headers = session.sidebar_headers(built.settings, tenant or built.settings.default_tenant)
        return FileResponse(STATIC / "sidebar.html", media_type="text/html", headers=headers)

    @app.get("/admin/prompts", include_in_schema=False)
    def prompt_builder() -> FileResponse:
        return FileResponse(STATIC / "admin" / "prompts.html", media_type="text/html",
                            headers=prompts.PAGE_HEADERS)

    return app

"""Domain errors mapped to RFC 9457 problem+json in one table."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from actions.base import InvalidModelOutput
from actions.compliance_check import TranscriptNotFound
from actions.runner import PromptVersionNotAllowed
from guardrails.pipeline import InputBlocked
from prompts.chat import ChatError, ContextOverflow, ModelUnavailable
from prompts.store import PromptNotFound, PromptStateError
from prompts.templates import TemplateInvalid
from retrieval.store import StoreUnavailable
from service.audit import AuditImmutable
from service.auth import AuthError, Forbidden
from service.reviews import InvalidEdit, ReviewConflict

PROBLEM_BASE = "https://sidekick.dev/problems/"

# exception type -> (status, problem type slug, title)
PROBLEMS: dict[type[Exception], tuple[int, str, str]] = {
    AuthError: (401, "unauthorized", "Authentication required"),
    Forbidden: (403, "forbidden", "Not allowed for this role"),
    PromptVersionNotAllowed: (403, "forbidden", "Not allowed for this role"),
    PromptNotFound: (404, "prompt-not-found", "Prompt not found"),
    TemplateInvalid: (422, "template-invalid", "Template is invalid"),
    InvalidModelOutput: (502, "model-output-invalid", "The model's reply did not match the schema"),
    ModelUnavailable: (503, "model-unavailable", "The chat model is unavailable"),
    ContextOverflow: (422, "context-overflow", "The prompt does not fit the model's context window"),
    ChatError: (502, "model-error", "The chat model failed"),
    TranscriptNotFound: (404, "document-not-found", "No text to check for this document"),
    StoreUnavailable: (503, "store-unavailable", "The vector store is unavailable"),
}


class NotFound(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)


class BadRequest(Exception):
    pass


class Conflict(Exception):
    """The request is well formed but clashes with the state of the data (e.g. an ambiguous id)."""


PROBLEMS[NotFound] = (404, "not-found", "Not found")
PROBLEMS[BadRequest] = (400, "bad-request", "Bad request")
PROBLEMS[Conflict] = (409, "conflict", "Conflict")
PROBLEMS[AuditImmutable] = (500, "audit-immutable", "Audit records are append-only")
PROBLEMS[ReviewConflict] = (409, "review-decided", "The review item was already decided")
PROBLEMS[InvalidEdit] = (422, "review-edit-invalid", "The edited output does not fit the action's output")
PROBLEMS[InputBlocked] = (422, "input-blocked", "The request was blocked by a guardrail")
PROBLEMS[PromptStateError] = (409, "prompt-state", "The prompt version is in the wrong state for this change")


def problem_body(exc: Exception) -> dict[str, Any]:
    """The problem+json body the error handlers would send for ``exc`` (for streamed ``error`` events)."""
    for kind in type(exc).__mro__:
        if kind in PROBLEMS:
            status, slug, title = PROBLEMS[kind]
            return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": str(exc)}
    return {"type": PROBLEM_BASE + "internal-error", "title": "Internal error", "status": 500,
            "detail": "the action failed; see the server log"}


def problem(status: int, slug: str, title: str, detail: str, **extra: object) -> JSONResponse:
    body = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    for exc_type, (status, slug, title) in PROBLEMS.items():
        def handler(request: Request, exc: Exception, status=status, slug=slug, title=title) -> JSONResponse:
            extra = {"problems": exc.problems} if isinstance(exc, TemplateInvalid) else {}
            return problem(status, slug, title, str(exc), **extra)

        app.add_exception_handler(exc_type, handler)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem(422, "validation-error", "Request is invalid",
                       f"{len(errors)} problem(s) in the request", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slugs = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}
        slug = slugs.get(exc.status_code, "http-error")
        return problem(exc.status_code, slug, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The message may quote stored data: it goes to the server log, not to the client.
        return problem(500, "internal-error", "Internal error", "an unexpected error occurred")



class BodySizeLimit:
    """Refuses request bodies over a limit with a 413 problem before any route reads them.

    ``max_body`` applies to every body except ``multipart/form-data`` uploads, which get
    ``max_upload`` (the upload route still checks each file). A declared Content-Length is
    checked up front; a chunked body is read up to the limit, then replayed to the app.
    (FastAPI's own ``max_body_size`` answers a declared oversize with a text/plain 413
    whatever the handlers say, hence this middleware.)"""

    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload = headers.get("content-type", "").lower().startswith("multipart/form-data")
        limit = self.max_upload if upload else self.max_body
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem(400, "bad-request", "Bad request", "invalid Content-Length")(scope, receive, send)
            elif int(declared) > limit:
                await _too_large(limit)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size, more = 0, True
        while more:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if size > limit:
                await _too_large(limit)(scope, receive, send)
                return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> JSONResponse:
    return problem(413, "payload-too-large", "Request body too large",
                   f"the request body is over the limit of {limit} bytes")

"""The operator console at ``/ui``: server-rendered pages (Jinja), a little script of our
own for live runs, nothing fetched from anywhere else.

Pages are answered with a strict Content-Security-Policy (scripts, styles and connections
from this origin only, no framing), never cached, and errors come back as pages, not JSON.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from wfa.application.errors import ApplicationError
from wfa.domain.errors import IllegalTransition, InvalidDefinition, InvalidPayload
from wfa.entrypoints.http.console import actions, pages, run_pages, session
from wfa.entrypoints.http.console.session import NotSignedIn, sign_in_redirect
from wfa.entrypoints.http.problems import status_of

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    ResponseHeader(name="content-security-policy", value=_POLICY),
    ResponseHeader(name="x-frame-options", value="DENY"),
    ResponseHeader(name="referrer-policy", value="same-origin"),
    ResponseHeader(name="x-content-type-options", value="nosniff"),
    ResponseHeader(name="cache-control", value="no-store"),
]

# Answers made by the error handlers do not get the router's headers: they add them.
_HEADER_MAP = {header.name: header.value or "" for header in HEADERS}


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine)


def _error_page(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, NotSignedIn):
        if request.method == "GET" and not request.url.path.endswith(("/live", "/stream")):
            if request.headers.get("sec-fetch-site") == "cross-site":
                # A link from mail or chat: the browser kept the SameSite=Strict cookie back.
                # Loading the page again from here sends it, if there is one.
                return Template("reopen.html", context={"viewer": None}, headers=_HEADER_MAP)
            return sign_in_redirect(request)
        status, detail = 401, "Your session ended: sign in again."
    elif isinstance(error, HTTPException):
        status, detail = error.status_code, error.detail
    else:
        status, detail = status_of(error), str(error)
    problems = []
    if isinstance(error, InvalidDefinition | InvalidPayload):
        problems = [f"{p.path}: {p.message}" if p.path else p.message for p in error.problems]
    viewer = None
    context = {"viewer": viewer, "status": status, "detail": detail, "problems": problems}
    return Template("error.html", context=context, status_code=status, headers=_HEADER_MAP)


def _unexpected_page(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    context: dict[str, Any] = {
        "viewer": None,
        "status": 500,
        "detail": "The server failed to show this page; the error is in its log.",
        "problems": [],
    }
    return Template("error.html", context=context, status_code=500, headers=_HEADER_MAP)


@get("/ui/{rest:path}", include_in_schema=False)
async def no_such_page(rest: FromPath[Path]) -> None:
    """A console address that names nothing: a page saying so, not the API's JSON."""
    raise NotFoundException(f"there is no page at /ui{rest}")


def console_router() -> Router:
    handled: dict[type[Exception] | int, Any] = {
        HTTPException: _error_page,
        ApplicationError: _error_page,
        IllegalTransition: _error_page,
        InvalidDefinition: _error_page,
        InvalidPayload: _error_page,
        NotFoundException: _error_page,
        Exception: _unexpected_page,
    }
    return Router(
        path="/",
        route_handlers=[
            session.root,
            no_such_page,
            session.sign_in_page,
            session.sign_in,
            session.sign_out,
            pages.workflows_page,
            pages.workflow_page,
            pages.runs_page,
            run_pages.run_page,
            run_pages.run_live,
            run_pages.run_stream,
            pages.secrets_page,
            pages.keys_page,
            actions.start,
            actions.cancel,
            actions.retry,
            actions.signal,
            actions.set_secret,
            actions.delete_secret,
            actions.create_key,
            actions.revoke_key,
            create_static_files_router(
                path="/ui/static",
                directories=[HERE / "static"],
                include_in_schema=False,
                name="console-static",
            ),
        ],
        dependencies={"viewer": Provide(session.signed_in)},
        exception_handlers=handled,
        response_headers=HEADERS,
        include_in_schema=False,
    )

"""Who is signed in to the console, from the session cookie; sign in, sign out; form checks.

The cookie is HttpOnly, SameSite=Strict and limited to ``/ui``; it is Secure when the
request came over HTTPS (directly or, with ``X-Forwarded-Proto``, through a proxy the
server trusts: uvicorn's ``--forwarded-allow-ips``). Every form carries the session's CSRF
token, and a form posted from another site (``Sec-Fetch-Site``) is refused before it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template

from wfa.application.console_sessions import ConsoleSessions, ConsoleUnavailable
from wfa.domain.api_keys import ApiKey, Scope

COOKIE = "wfa_console"
PATH = "/ui"
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
Next = Annotated[str | None, QueryParameter(max_length=512)]
MAX_KEY_TEXT = 256


class NotSignedIn(NotAuthorizedException):
    """No session, or one that ended: pages send the browser to sign in."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: their key's name and scope, and their forms' CSRF token."""

    key: ApiKey
    csrf: str

    @property
    def scope(self) -> Scope:
        return self.key.scope

    def can(self, scope: str) -> bool:
        return self.key.scope.covers(Scope(scope))


async def signed_in(
    request: Request[Any, Any, Any], console_sessions: NamedDependency[ConsoleSessions]
) -> Viewer:
    """The dependency every console page takes: its viewer, or NotSignedIn."""
    session = request.cookies.get(COOKIE, "")
    key = await console_sessions.read(session) if session else None
    if key is None:
        raise NotSignedIn("sign in with an API key")
    viewer = Viewer(key, console_sessions.csrf_token(session))
    if request.method == "POST":
        await _check_form(request, console_sessions, session)
    return viewer


async def _check_form(
    request: Request[Any, Any, Any], console_sessions: ConsoleSessions, session: str
) -> None:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PermissionDeniedException("a form from another site is refused")
    form = await request.form()
    token = form.get("csrf")
    if not isinstance(token, str) or not console_sessions.csrf_matches(session, token):
        raise PermissionDeniedException(
            "this form is out of date (its session ended or changed): open the page again"
        )


def require(viewer: Viewer, scope: Scope) -> None:
    if not viewer.key.scope.covers(scope):
        raise PermissionDeniedException(
            f"your API key has scope '{viewer.scope}'; this needs '{scope}'"
            + ("" if scope is Scope.ADMIN else " or higher")
        )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path only, never another site."""
    if target and target.startswith(PATH) and not target.startswith("//") and "\\" not in target:
        return target
    return PATH


def sign_in_redirect(request: Request[Any, Any, Any]) -> Response[Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(f"{PATH}/sign-in?next={quote(safe_next(here), safe='/')}", status_code=303)


@get("/", include_in_schema=False, status_code=307)
async def root() -> Response[Any]:
    """The server's address opened in a browser leads to the console."""
    return Redirect(PATH, status_code=307)


@get("/ui/sign-in", media_type=MediaType.HTML, include_in_schema=False)
async def sign_in_page(next: Next = None) -> Template:
    return Template("sign_in.html", context={"next": safe_next(next), "viewer": None})


@post("/ui/sign-in", media_type=MediaType.HTML, include_in_schema=False, status_code=303)
async def sign_in(
    request: Request[Any, Any, Any],
    data: Form,
    console_sessions: NamedDependency[ConsoleSessions],
    next: Next = None,
) -> Response[Any]:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise PermissionDeniedException("a form from another site is refused")
    presented = data.get("key", "")[: MAX_KEY_TEXT + 1]
    problem = None
    if not presented.strip():
        problem = "Enter an API key."
    elif len(presented) > MAX_KEY_TEXT:
        problem = "That is not an API key (too long)."
    else:
        try:
            opened = await console_sessions.open(presented)
        except ConsoleUnavailable as error:
            return _sign_in_again(next, str(error), 503)
        if opened is None:
            problem = "This API key is not valid (unknown or revoked)."
    if problem is not None:
        return _sign_in_again(next, problem, 401)
    session, _ = opened  # type: ignore[misc]
    response: Response[Any] = Redirect(safe_next(next), status_code=303)
    response.set_cookie(
        Cookie(
            key=COOKIE,
            value=session,
            path=PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=int(console_sessions.lifetime.total_seconds()),
        )
    )
    return response


def _sign_in_again(next: str | None, problem: str, status: int) -> Response[Any]:
    context = {"next": safe_next(next), "problem": problem, "viewer": None}
    return Template("sign_in.html", context=context, status_code=status)


@post("/ui/sign-out", include_in_schema=False, status_code=303)
async def sign_out(viewer: NamedDependency[Viewer]) -> Response[Any]:
    response: Response[Any] = Redirect(f"{PATH}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response

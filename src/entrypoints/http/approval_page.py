"""A callback link opened in a browser: a page to approve or reject, for a person.

``GET /callbacks/{token}`` changes nothing (link previews and prefetchers open links too);
it shows whose step waits and two buttons. They post forms to ``…/approve`` (the step
succeeds with ``{"approved": true, "note": …}``) and ``…/reject`` (it fails with
``Rejected`` and the note as its message), and the answer is a page again. Machines use the
JSON routes beside them. The pages load nothing and run no script; they may not be framed,
cached or leak the link through a Referer.
"""

from __future__ import annotations

import html
from typing import Annotated

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body

from wfa.application.errors import InvalidRequest, UnknownCallback
from wfa.application.payloads import PayloadTooLarge, UnstorableText
from wfa.application.use_cases.callbacks import MAX_MESSAGE, CallbackView, UseCallback
from wfa.domain.errors import Refusal
from wfa.entrypoints.http.callbacks import Token
from wfa.entrypoints.http.problems import responses

REJECTED = "Rejected"
_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;
color:#1d2433}h1{font-size:1.4rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem 1rem}
dt{color:#5b6475}dd{margin:0;word-break:break-all}textarea{width:100%;min-height:4rem;
font:inherit}.actions{display:flex;gap:.75rem;margin-top:1rem}button{font:inherit;
padding:.5rem 1.25rem;border-radius:.4rem;border:1px solid #9aa3b5;cursor:pointer}
.approve{background:#1f7a3e;color:#fff;border-color:#1f7a3e}.reject{background:#fff;
color:#a4262c;border-color:#a4262c}.note{color:#5b6475}
"""
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _html(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=str,
        media_type=MediaType.HTML,
        description=description,
        generate_examples=False,
    )


@get(
    "/callbacks/{token:str}",
    tags=["callbacks"],
    media_type=MediaType.HTML,
    responses={
        404: _html("No such link (an HTML page)"),
        409: _html("The link was used already, or its step is over (an HTML page)"),
        **responses(400),
    },
)
async def approval_page(token: Token, use_callback: NamedDependency[UseCallback]) -> Response[str]:
    """The page a person opens from a callback link: the workflow, step and run waiting,
    with Approve and Reject buttons (HTML forms posting to ``…/approve`` and ``…/reject``).
    Opening it changes nothing."""
    try:
        view = await use_callback.describe(token)
    except UnknownCallback as error:
        return _page("No such link", f"<p>{html.escape(str(error))}.</p>", 404)
    if not view.usable:
        return _page(
            "This link is no longer open",
            "<p>It was used already, or the step it answers is over (it timed out, or "
            "the run ended).</p>" + _facts(view),
            409,
        )
    here = html.escape(f"/callbacks/{token}", quote=True)
    body = (
        "<p>A workflow waits for your answer.</p>"
        + _facts(view)
        + '<form method="post">'
        + f'<label for="note">Note (optional)</label><textarea id="note" name="note" '
        f'maxlength="{MAX_MESSAGE}"></textarea>'
        + '<div class="actions">'
        + f'<button class="approve" type="submit" formaction="{here}/approve">Approve</button>'
        + f'<button class="reject" type="submit" formaction="{here}/reject">Reject</button>'
        + "</div></form>"
    )
    return _page("Approve or reject", body, 200)


@post("/callbacks/{token:str}/approve", include_in_schema=False, media_type=MediaType.HTML)
async def approve(
    token: Token, data: Form, use_callback: NamedDependency[UseCallback]
) -> Response[str]:
    """The page's Approve button: the step succeeds with ``{"approved": true, "note"}``."""
    note = data.get("note", "")
    return await _answer(use_callback, token, note, approved=True)


@post("/callbacks/{token:str}/reject", include_in_schema=False, media_type=MediaType.HTML)
async def reject(
    token: Token, data: Form, use_callback: NamedDependency[UseCallback]
) -> Response[str]:
    """The page's Reject button: the step fails with ``Rejected`` and the note."""
    note = data.get("note", "")
    return await _answer(use_callback, token, note, approved=False)


async def _answer(
    use_callback: UseCallback, token: str, note: str, *, approved: bool
) -> Response[str]:
    try:
        if len(note) > MAX_MESSAGE:
            raise InvalidRequest(f"the note is longer than {MAX_MESSAGE:,} characters")
        if approved:
            await use_callback.succeed(token, {"approved": True, "note": note})
        else:
            await use_callback.fail(token, REJECTED, note)
    except UnknownCallback as error:
        return _page("No such link", f"<p>{html.escape(str(error))}.</p>", 404)
    except Refusal:
        text = "<p>It was used already, or the step it answers is over.</p>"
        return _page("This link is no longer open", text, 409)
    except (InvalidRequest, PayloadTooLarge, UnstorableText) as error:
        return _page("Not sent", f"<p>{html.escape(str(error))}</p>", 400)
    title = "Approved" if approved else "Rejected"
    return _page(title, "<p>Thank you: the workflow goes on with your answer.</p>", 200)


def _facts(view: CallbackView) -> str:
    rows = [
        ("Workflow", view.workflow),
        ("Step", view.step_id),
        ("Run", view.run_id),
        ("Open until", view.expires_at.strftime("%Y-%m-%d %H:%M UTC")),
    ]
    cells = "".join(f"<dt>{name}</dt><dd>{html.escape(value)}</dd>" for name, value in rows)
    return f"<dl>{cells}</dl>"


def _page(title: str, body: str, status: int) -> Response[str]:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)} · wfa</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )
    return Response(document, status_code=status, media_type=MediaType.HTML, headers=_HEADERS)

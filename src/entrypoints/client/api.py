"""``Client``: the HTTP API of a wfa server, typed, for scripts and the ``wfa`` commands.

Configured by arguments, else by ``WFA_URL`` (default ``http://127.0.0.1:8000``) and
``WFA_API_KEY`` (sent as ``Authorization: Bearer``). Problems the API answers with become
``ApiError``; a server that cannot be reached, ``ServerUnreachable``; an answer that is not
the API's (a redirect, a page that is not JSON), ``UnexpectedAnswer``; a URL that is not
one, ``InvalidServerUrl`` (raised by the constructor).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from wfa.entrypoints.client import follow
from wfa.entrypoints.client.errors import (
    ApiError,
    InvalidServerUrl,
    ProblemItem,
    ServerUnreachable,
    UnexpectedAnswer,
)
from wfa.entrypoints.client.sse import parse_events
from wfa.entrypoints.client.types import (
    EventPage,
    Run,
    RunAccepted,
    RunDetail,
    RunPage,
    SignalDelivered,
    StreamedEvent,
    Workflow,
    WorkflowPage,
)

DEFAULT_URL = "http://127.0.0.1:8000"
MAX_PAGE = 200  # the API's largest page
T = TypeVar("T")


class Client:
    """The API of one server. Use it as a context manager, or call ``close()``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self.url = (url or env.get("WFA_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else env.get("WFA_API_KEY") or None
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        self._timeout = timeout
        try:
            scheme = httpx.URL(self.url).scheme
            if scheme not in ("http", "https"):
                raise InvalidServerUrl(self.url, "it must start with http:// or https://")
            self._http = httpx.Client(
                base_url=self.url, headers=headers, timeout=timeout, transport=transport
            )
        except httpx.InvalidURL as error:
            raise InvalidServerUrl(self.url, str(error)) from None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Workflows

    def list_workflows(self, limit: int = 50, cursor: str | None = None) -> WorkflowPage:
        """One page of workflows (latest versions), by id; pass ``next_cursor`` as cursor."""
        params = _params(limit=limit, cursor=cursor)
        return self._call("GET", "/api/v1/workflows", WorkflowPage, params=params)

    def iter_workflows(self) -> Iterator[Workflow]:
        """Every workflow, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_workflows(MAX_PAGE, cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_workflow(self, id_or_name: str) -> Workflow:
        """By id, or by name when exactly one live workflow has it (409 ApiError if several)."""
        return self._call("GET", f"/api/v1/workflows/{_part(id_or_name)}", Workflow)

    def create_workflow(self, definition: Mapping[str, Any]) -> Workflow:
        return self._call("POST", "/api/v1/workflows", Workflow, json=definition)

    def update_workflow(self, id_or_name: str, definition: Mapping[str, Any]) -> Workflow:
        """Store a new version; runs already started keep theirs."""
        path = f"/api/v1/workflows/{_part(id_or_name)}"
        return self._call("PUT", path, Workflow, json=definition)

    def delete_workflow(self, id_or_name: str) -> None:
        """Delete a workflow; its runs are kept."""
        self._send("DELETE", f"/api/v1/workflows/{_part(id_or_name)}")

    def start_run(
        self, workflow: str, input: Any = None, *, idempotency_key: str | None = None
    ) -> RunAccepted:
        """Start a run of the workflow (id, or its name when one live workflow has it)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        path = f"/api/v1/workflows/{_part(workflow)}/runs"
        return self._call("POST", path, RunAccepted, json={"input": input}, headers=headers)

    # Runs

    def list_runs(
        self,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> RunPage:
        """One page of runs, newest first; pass ``next_cursor`` back as cursor. Runs created
        at or after ``created_after`` and before ``created_before`` (aware datetimes only)."""
        params = _params(
            workflow_id=workflow_id,
            status=status,
            created_after=_instant(created_after, "created_after"),
            created_before=_instant(created_before, "created_before"),
            limit=limit,
            cursor=cursor,
        )
        return self._call("GET", "/api/v1/runs", RunPage, params=params)

    def iter_runs(
        self,
        *,
        workflow_id: str | None = None,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
    ) -> Iterator[Run]:
        """Every run that matches, newest first, page after page."""
        cursor: str | None = None
        while True:
            page = self.list_runs(
                workflow_id=workflow_id,
                status=status,
                created_after=created_after,
                created_before=created_before,
                limit=MAX_PAGE,
                cursor=cursor,
            )
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_run(self, run_id: str) -> RunDetail:
        """The run with every step and every attempt."""
        return self._call("GET", f"/api/v1/runs/{_part(run_id)}", RunDetail)

    def run_events(self, run_id: str, cursor: str | None = None, limit: int = 500) -> EventPage:
        """One page of the run's history in seq order."""
        path = f"/api/v1/runs/{_part(run_id)}/events"
        return self._call("GET", path, EventPage, params=_params(cursor=cursor, limit=limit))

    def iter_run_events(self, run_id: str) -> Iterator[dict[str, Any]]:
        """The run's whole history, page after page."""
        cursor: str | None = None
        while True:
            page = self.run_events(run_id, cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def stream_run(
        self, run_id: str, after_seq: int = 0, *, on_retry: follow.RetryHint | None = None
    ) -> Iterator[StreamedEvent]:
        """The run's history after ``after_seq``, then live until the run ends or the server
        closes the stream (it does when it stops: see ``follow_run``). ``on_retry`` is told
        the pause in seconds the server asks of a client that reconnects."""
        headers = {"Accept": "text/event-stream"}
        if after_seq:
            headers["Last-Event-ID"] = str(after_seq)
        path = f"/api/v1/runs/{_part(run_id)}/stream"
        # The server sends a keep-alive every 15 s; longer silence is a lost connection.
        timeout = httpx.Timeout(self._timeout, read=max(self._timeout, 60.0))
        try:
            with self._http.stream("GET", path, headers=headers, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    raise self._refusal(response, "GET", path)
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    raise self._unexpected(response, "not an event stream")
                try:
                    yield from parse_events(response.iter_lines(), on_retry)
                except msgspec.DecodeError:
                    raise self._unexpected(response, "an event that is not JSON") from None
        except httpx.TransportError as error:
            raise self._unreachable(error) from None

    def follow_run(
        self,
        run_id: str,
        *,
        give_up_after: float = follow.GIVE_UP_AFTER,
        pause: float = follow.FIRST_PAUSE,
    ) -> Iterator[StreamedEvent]:
        """Every event of the run until it ends. When the stream closes early or the server
        cannot be reached (it stopped, or is restarting), it reconnects from the last event
        seen after a pause (the server's ``retry``, else ``pause``, growing a little), and
        raises ``ServerUnreachable`` only after ``give_up_after`` seconds without an answer."""
        return follow.follow_run(self, run_id, give_up_after=give_up_after, pause=pause)

    def cancel_run(self, run_id: str, reason: str = "") -> Run:
        """Cancel an unfinished run (409 ApiError when it has ended)."""
        path = f"/api/v1/runs/{_part(run_id)}/cancel"
        return self._call("POST", path, Run, json={"reason": reason})

    def retry_run(self, run_id: str) -> Run:
        """Resume a failed run from its failed step (409 ApiError unless it failed)."""
        return self._call("POST", f"/api/v1/runs/{_part(run_id)}/retry", Run)

    def signal_run(
        self, run_id: str, name: str, payload: Any = None, *, idempotency_key: str | None = None
    ) -> SignalDelivered:
        """Deliver a signal to the run; with a key, delivering again records nothing."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        path = f"/api/v1/runs/{_part(run_id)}/signals/{_part(name)}"
        return self._call("POST", path, SignalDelivered, json=payload, headers=headers)

    # The wire

    def _call(self, method: str, path: str, kind: type[T], **options: Any) -> T:
        response = self._send(method, path, **options)
        try:
            return msgspec.json.decode(response.content, type=kind)
        except msgspec.ValidationError as error:
            raise self._unexpected(response, f"JSON without what the API sends: {error}") from None
        except msgspec.DecodeError:
            raise self._unexpected(response, "not JSON") from None

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        content = None if json is None else msgspec.json.encode(json)
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            response = self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as error:
            raise self._unreachable(error) from None
        if not response.is_success:
            raise self._refusal(response, method, path)
        return response

    def _refusal(self, response: httpx.Response, method: str, path: str) -> Exception:
        """A problem the API answered with; a redirect is no answer of the API (it never
        sends one), so it is not followed: the client would send its key elsewhere."""
        if response.status_code < 400:
            status = response.status_code
            location = response.headers.get("location")
            answer = f"HTTP {status} → {location}" if location else f"HTTP {status}"
            return UnexpectedAnswer(self.url, status, answer)
        return _problem(response, method, path)

    def _unexpected(self, response: httpx.Response, what: str) -> UnexpectedAnswer:
        kind = response.headers.get("content-type", "").split(";")[0].strip() or "no type"
        answer = f"HTTP {response.status_code}, {kind}: {what}"
        return UnexpectedAnswer(self.url, response.status_code, answer)

    def _unreachable(self, error: httpx.TransportError) -> ServerUnreachable:
        if isinstance(error, httpx.TimeoutException):
            return ServerUnreachable(self.url, f"no answer within {self._timeout:g}s")
        reason = str(error) or type(error).__name__
        return ServerUnreachable(self.url, reason)


def _problem(response: httpx.Response, method: str, path: str) -> ApiError:
    """The problem details the server sent, or the status and a piece of the body."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if not isinstance(body, dict):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return ApiError(status, response.reason_phrase, text, method=method, path=path)
    listed = body.get("problems")
    return ApiError(
        status,
        str(body.get("title") or response.reason_phrase),
        str(body.get("detail") or ""),
        code=body.get("code") if isinstance(body.get("code"), str) else None,
        problems=[_item(item) for item in listed] if isinstance(listed, list) else None,
        method=method,
        path=path,
    )


def _item(item: Any) -> ProblemItem:
    if isinstance(item, dict):
        return ProblemItem(str(item.get("path") or ""), str(item.get("message") or ""))
    return ProblemItem("", str(item))


def _instant(value: datetime | None, name: str) -> str | None:
    """An aware datetime as RFC 3339; a naive one names no instant, so it is refused."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name} needs a time zone: {value.isoformat()} is naive "
            "(use datetime.now(UTC) or .replace(tzinfo=...))"
        )
    return value.isoformat()


def _part(value: str) -> str:
    """One path segment: a name with a slash or a space stays one segment."""
    return quote(value, safe="")


def _params(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}

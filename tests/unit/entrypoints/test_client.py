"""wfa.client.Client against httpx.MockTransport: configuration, paging, problems, the stream."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from wfa.client import (
    ApiError,
    Client,
    InvalidServerUrl,
    ProblemItem,
    ServerUnreachable,
    UnexpectedAnswer,
)
from wfa.entrypoints.client.sse import parse_events

KEY = "k" * 40
WORKFLOW = {
    "id": "w1",
    "name": "hello",
    "version": 1,
    "created_at": "2026-01-02T03:04:05Z",
    "definition": {"name": "hello", "steps": []},
}


def client_of(handler: Any, **options: Any) -> Client:
    options.setdefault("env", {"WFA_URL": "http://wfa.test:9000/", "WFA_API_KEY": KEY})
    return Client(transport=httpx.MockTransport(handler), **options)


def test_the_url_and_key_come_from_the_environment_unless_given():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=WORKFLOW)

    client_of(handler).get_workflow("w1")
    assert str(seen[-1].url) == "http://wfa.test:9000/api/v1/workflows/w1"
    assert seen[-1].headers["authorization"] == f"Bearer {KEY}"

    client_of(handler, url="http://other:1", api_key="given").get_workflow("w1")
    assert str(seen[-1].url).startswith("http://other:1/")
    assert seen[-1].headers["authorization"] == "Bearer given"

    client_of(handler, env={}).get_workflow("w1")
    assert str(seen[-1].url).startswith("http://127.0.0.1:8000/")
    assert "authorization" not in seen[-1].headers


def test_a_name_is_one_path_segment_whatever_it_holds():
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(200, json=WORKFLOW)

    client_of(handler).get_workflow("orders/eu west")
    assert paths == ["/api/v1/workflows/orders%2Feu%20west"]


def test_a_problem_becomes_an_api_error_with_status_detail_code_and_problems():
    # The shape of src/entrypoints/http/problems.py's Problem, as the server sends it.
    problem = {
        "title": "Unprocessable Content",
        "status": 422,
        "detail": "invalid definition, 1 problem",
        "instance": "/api/v1/workflows",
        "code": "definition.invalid",
        "problems": [{"path": "steps[0].next", "message": "unknown step 'x'"}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/problem+json"}
        return httpx.Response(422, content=json.dumps(problem), headers=headers)

    with pytest.raises(ApiError) as raised:
        client_of(handler).create_workflow({"name": "x"})
    error = raised.value
    assert (error.status, error.detail, error.code) == (422, problem["detail"], problem["code"])
    assert error.problems == [ProblemItem("steps[0].next", "unknown step 'x'")]
    assert [str(p) for p in error.problems] == ["steps[0].next: unknown step 'x'"]
    assert str(error) == "invalid definition, 1 problem"


def test_an_error_that_is_not_json_keeps_its_status():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    with pytest.raises(ApiError) as raised:
        client_of(handler).list_runs()
    assert raised.value.status == 502


def test_a_server_that_cannot_be_reached_is_named_by_its_url():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(ServerUnreachable) as raised:
        client_of(handler).list_workflows()
    assert raised.value.url == "http://wfa.test:9000"
    assert "Connection refused" in str(raised.value)


def test_lists_follow_next_cursor_to_the_last_page():
    cursors: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        cursors.append(cursor)
        page = {None: ("a", "b", "b"), "b": ("c", "d", "d"), "d": ("e", None, None)}[cursor]
        items = [{**WORKFLOW, "id": i} for i in page[:2] if i is not None]
        return httpx.Response(200, json={"items": items, "next_cursor": page[2]})

    assert [w.id for w in client_of(handler).iter_workflows()] == ["a", "b", "c", "d", "e"]
    assert cursors == [None, "b", "d"]


def test_a_signal_sends_its_payload_and_key():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"run_id": "r1", "signal": "go", "seq": 4, "taken_by": "ask", "duplicate": False}
        return httpx.Response(202, json=body)

    delivered = client_of(handler).signal_run("r1", "go", {"ok": True}, idempotency_key="once")
    assert (delivered.seq, delivered.taken_by) == (4, "ask")
    assert seen[0].url.path == "/api/v1/runs/r1/signals/go"
    assert json.loads(seen[0].content) == {"ok": True}
    assert seen[0].headers["idempotency-key"] == "once"


def sse(*events: tuple[int, str], comment: bool = True) -> str:
    lines = [": keep-alive\n\n"] if comment else []
    for seq, kind in events:
        data = json.dumps({"type": kind, "seq": seq, "at": "2026-01-02T03:04:05Z"})
        lines.append(f"event: {kind}\nid: {seq}\ndata: {data}\n\n")
    return "".join(lines)


def stream(text: str) -> httpx.Response:
    return httpx.Response(200, text=text, headers={"content-type": "text/event-stream"})


def test_the_stream_is_read_event_by_event_and_comments_are_skipped():
    text = sse((1, "run.created"), (2, "run.started")) + ": server stopping\nretry: 2000\n\n"
    events = list(parse_events(text.splitlines()))
    assert [(e.seq, e.type) for e in events] == [(1, "run.created"), (2, "run.started")]
    assert events[1].data["type"] == "run.started"


def test_following_a_run_reconnects_after_the_last_event_seen_until_it_ends():
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            last = request.headers.get("last-event-id")
            asked.append(last)
            if last is None:  # the server stops after two events
                return stream(sse((1, "run.created"), (2, "run.started")))
            return stream(sse((3, "step.scheduled"), (4, "run.succeeded")))
        run = {"status": "running"}  # not ended when the first stream closed
        return httpx.Response(200, json=run_detail(**run))

    events = list(client_of(handler).follow_run("r1", pause=0))
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert asked == [None, "2"]


def test_a_stream_refused_is_an_api_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"title": "Not Found", "detail": "run 'r9' not found"})

    with pytest.raises(ApiError) as raised:
        list(client_of(handler).stream_run("r9"))
    assert (raised.value.status, raised.value.detail) == (404, "run 'r9' not found")


def run_detail(**fields: Any) -> dict[str, Any]:
    return {
        "id": "r1",
        "workflow_id": "w1",
        "workflow_version": 1,
        "status": "running",
        "trigger": "manual",
        "input": None,
        "output": None,
        "error": None,
        "failed_step": None,
        "current_step": None,
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "wake_at": None,
        "steps": [],
        **fields,
    }


def test_a_redirect_is_not_followed_but_named_with_where_it_points():
    def handler(request: httpx.Request) -> httpx.Response:
        location = str(request.url.copy_with(scheme="https"))
        return httpx.Response(301, headers={"location": location})

    client = client_of(handler)
    calls = [
        client.list_workflows,
        lambda: client.get_run("r1"),
        lambda: list(client.stream_run("r1")),
    ]
    for call in calls:
        with pytest.raises(UnexpectedAnswer) as raised:
            call()
        assert raised.value.status == 301
        assert raised.value.what.startswith("HTTP 301 → https://wfa.test:9000/api/v1/")
        assert str(raised.value).startswith(
            "the server at http://wfa.test:9000 answered something that is not the wfa API"
        )


def test_an_answer_that_is_not_the_apis_json_is_an_unexpected_answer():
    answers = [
        httpx.Response(
            200, text="<html>a directory listing</html>", headers={"content-type": "text/html"}
        ),
        httpx.Response(200, json={"something": "else"}),
        httpx.Response(200, text=""),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    client = client_of(handler)
    for said in ("HTTP 200, text/html: not JSON", "JSON without what the API sends", "not JSON"):
        with pytest.raises(UnexpectedAnswer) as raised:
            client.list_workflows()
        assert said in raised.value.what


def test_a_stream_that_is_not_an_event_stream_is_an_unexpected_answer():
    answers = [
        httpx.Response(200, text="<html></html>", headers={"content-type": "text/html"}),
        stream("event: run.created\nid: 1\ndata: {not json\n\n"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    client = client_of(handler)
    for said in ("not an event stream", "an event that is not JSON"):
        with pytest.raises(UnexpectedAnswer) as raised:
            list(client.stream_run("r1"))
        assert said in raised.value.what


@pytest.mark.parametrize("url", ["http://[::1", "ftp://wfa.test", "wfa.test:8000"])
def test_a_url_that_is_not_one_is_refused_when_the_client_is_made(url):
    with pytest.raises(InvalidServerUrl) as raised:
        Client(env={"WFA_URL": url})
    assert raised.value.url == url


def test_runs_are_listed_by_creation_time_with_aware_datetimes_only():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    client = client_of(handler)
    after = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    before = datetime(2026, 12, 2, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    client.list_runs(created_after=after, created_before=before)
    assert seen[-1].url.params["created_after"] == "2026-12-01T09:30:00+00:00"
    assert seen[-1].url.params["created_before"] == "2026-12-02T10:00:00+02:00"
    list(client.iter_runs(created_after=after))
    assert seen[-1].url.params["created_after"] == "2026-12-01T09:30:00+00:00"
    assert "created_before" not in seen[-1].url.params

    with pytest.raises(ValueError, match="created_before needs a time zone"):
        client.list_runs(created_before=datetime(2026, 12, 1, 9, 30))
    with pytest.raises(ValueError, match="created_after needs a time zone"):
        list(client.iter_runs(created_after=datetime(2026, 12, 1, 9, 30)))


def test_following_waits_out_a_server_that_restarts_and_resumes_after_the_last_event():
    """Stopping: the stream ends with the server's comment and retry; then refused
    connections, a proxy's 503, and the server back, which is asked from seq 2 on."""
    asked: list[str | None] = []
    answers: list[Any] = [
        stream(sse((1, "run.created"), (2, "run.started")) + ": server stopping\nretry: 10\n\n"),
        httpx.ConnectError("Connection refused"),  # get_run: is it over?
        httpx.ConnectError("Connection refused"),
        httpx.Response(200, json=run_detail()),
        httpx.ConnectError("Connection refused"),  # the stream again
        httpx.Response(503, json={"title": "Service Unavailable", "status": 503, "detail": ""}),
        stream(sse((2, "run.started"), (3, "run.succeeded"))),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            asked.append(request.headers.get("last-event-id"))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    started = time.monotonic()
    events = list(client_of(handler).follow_run("r1", pause=5.0))
    assert [e.seq for e in events] == [1, 2, 3], "each event once"
    assert asked == [None, "2", "2", "2"]
    assert answers == []
    assert time.monotonic() - started < 1, "the server's retry (10 ms) was the pause, not 5 s"


def test_following_gives_up_after_a_bounded_time_without_an_answer():
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return stream(sse((1, "run.created")))
        raise httpx.ConnectError("Connection refused")

    events: list[int] = []
    following = client_of(handler).follow_run("r1", give_up_after=0.3, pause=0.02)
    with pytest.raises(ServerUnreachable, match="Connection refused"):
        events.extend(event.seq for event in following)
    assert events == [1]
    assert 0.3 <= calls[-1] - calls[0] < 1.5
    gaps = [b - a for a, b in itertools.pairwise(calls[1:])]
    assert gaps[-1] > gaps[0], "the pause grows"

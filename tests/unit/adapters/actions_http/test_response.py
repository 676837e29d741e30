"""Responses: statuses turned into named errors, and Retry-After read both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from wfa.adapters.actions.http.response import decode_body, retry_after, shown, status_error

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)


def response(status: int, body: bytes = b"", **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (500, "http.status.5xx", True),
        (503, "http.status.5xx", True),
        (429, "http.status.429", True),
        (408, "http.status.4xx", True),
        (400, "http.status.4xx", False),
        (401, "http.status.4xx", False),
        (404, "http.status.4xx", False),
        (422, "http.status.4xx", False),
        (302, "http.status.3xx", False),
        (204, "http.status.2xx", False),
    ],
)
def test_statuses_become_named_errors(status: int, error: str, retryable: bool) -> None:
    raised = status_error("GET https://api.example/x", response(status), "nope")

    assert (raised.error, raised.retryable) == (error, retryable)
    assert raised.message.startswith(f"GET https://api.example/x answered {status}")
    assert raised.message.endswith(": nope")


def test_429_and_503_carry_the_servers_retry_after() -> None:
    assert status_error("r", response(429, **{"Retry-After": "120"}), "").retry_after == 120.0
    assert status_error("r", response(503, **{"Retry-After": "7"}), "").retry_after == 7.0
    assert status_error("r", response(429), "").retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("Wed, 01 Jan 2030 12:05:00 GMT", 300.0),
        ("Tue, 31 Dec 2029 12:00:00 GMT", 0.0),  # in the past: retry when the policy says
        ("99999999", 86_400.0),  # at most a day
        ("soon", None),
        ("-5", None),
        ("", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    assert retry_after(value, NOW) == seconds


def test_bodies_are_json_when_the_type_says_so_else_text() -> None:
    json_type = {"content-type": "application/problem+json; charset=utf-8"}
    assert decode_body(response(200, **json_type), b'{"a": [1]}') == {"a": [1]}
    assert decode_body(response(200, **json_type), b"  ") is None
    assert decode_body(response(200, **json_type), b"not json") == "not json"
    latin = {"content-type": "text/plain; charset=latin-1"}
    assert decode_body(response(200, **latin), "café".encode("latin-1")) == "café"
    odd = {"content-type": "text/plain; charset=no-such-charset"}
    assert decode_body(response(200, **odd), b"\xff ok") == "\ufffd ok"


def test_messages_show_no_credentials_and_no_query() -> None:
    url = httpx.URL("https://user:secret@api.example:8443/v1/items?api_key=abc")

    assert shown("GET", url) == "GET https://api.example:8443/v1/items"

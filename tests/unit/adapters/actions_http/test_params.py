"""http.request's params: the shape msgspec checks, and what prepare() checks after rendering."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from wfa.adapters.actions.http.params import HttpParams, Timeouts, as_params, prepare
from wfa.application.ports.actions import ActionError


def prepared(**params: Any) -> Any:
    return prepare(as_params({"url": "https://api.example/x", **params}), "run:step", "wfa/test")


def refused(**params: Any) -> str:
    with pytest.raises(ActionError) as error:
        prepared(**params)
    assert error.value.error == "params.invalid"
    assert error.value.retryable is False
    return error.value.message


def test_defaults() -> None:
    request = prepared()

    assert (request.method, str(request.url)) == ("GET", "https://api.example/x")
    assert request.headers["idempotency-key"] == "run:step"
    assert request.headers["user-agent"] == "wfa/test"
    assert request.body == {}
    assert request.timeouts == Timeouts(connect=10.0, read=30.0, total=120.0)
    assert (request.follow_redirects, request.max_redirects) == (True, 5)
    assert request.expects(200)
    assert request.expects(299)
    assert not request.expects(300)
    assert not request.expects(404)


def test_a_struct_is_taken_as_it_is() -> None:
    params = HttpParams(url="http://a.example", method="delete")

    assert prepare(params, "k", "ua").method == "DELETE"


def test_query_is_merged_into_the_url() -> None:
    request = prepared(url="https://api.example/x?a=1", query={"b": [1, 2], "c": True, "d": None})

    assert str(request.url) == "https://api.example/x?a=1&b=1&b=2&c=true&d="


def test_headers_auth_and_the_idempotency_key() -> None:
    basic = prepared(
        headers={"X-N": 3, "X-On": True}, auth={"type": "basic", "username": "u", "password": "p"}
    )
    assert basic.headers["authorization"] == "Basic dTpw"
    assert (basic.headers["x-n"], basic.headers["x-on"]) == ("3", "true")

    bearer = prepared(auth={"type": "bearer", "token": "t0k"}, idempotency_key=False)
    assert bearer.headers["authorization"] == "Bearer t0k"
    assert "idempotency-key" not in bearer.headers

    own = prepared(headers={"idempotency-key": "mine"})
    assert own.headers.get_list("idempotency-key") == ["mine"]  # the user's header wins


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"json": {"a": 1}}, {"json": {"a": 1}}),
        ({"json": None}, {"json": None}),
        ({"form": {"a": "1", "b": ["2", "3"]}}, {"data": {"a": "1", "b": ["2", "3"]}}),
        ({"content": "<x/>"}, {"content": "<x/>"}),
    ],
)
def test_one_body_kind(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert prepared(method="POST", **body).body == expected


def test_a_number_timeout_bounds_reading_and_the_whole_exchange() -> None:
    assert prepared(timeout=3).timeouts == Timeouts(connect=3.0, read=3.0, total=3.0)
    assert prepared(timeout=60).timeouts == Timeouts(connect=10.0, read=60.0, total=60.0)
    assert prepared(timeout={"read": 5}).timeouts == Timeouts(connect=10.0, read=5.0, total=120.0)


def test_expect_takes_codes_classes_and_ranges() -> None:
    request = prepared(expect=[404, "3xx", "200-204"])

    assert [request.expects(code) for code in (404, 302, 200, 204, 205, 500)] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"url": "ftp://files.example/x"}, "url must be http:// or https://"),
        ({"url": "file:///etc/passwd"}, "url must be http:// or https://"),
        ({"url": "/relative"}, "url must be http:// or https://"),
        ({"url": "http://"}, "url has no host"),
        ({"url": "http://[::1/"}, "url is not a valid URL"),
        ({"url": "http://api.example:99999/"}, "url has no valid port"),
        ({"method": "BREW"}, "method must be one of"),
        ({"json": {}, "content": "x"}, "at most one body"),
        ({"form": {}, "content": "x"}, "at most one body"),
        ({"timeout": 0}, "timeout.connect must be more than 0"),
        ({"timeout": {"total": 7200}}, "timeout.total must be more than 0 and at most 3600"),
        ({"max_redirects": 50}, "max_redirects must be from 0 to 20"),
        ({"expect": ["2xy"]}, "'2xy' is not a status"),
        ({"expect": [700]}, "not within 100-599"),
        ({"expect": ["300-200"]}, "not within 100-599"),
        ({"auth": {"type": "digest"}}, "Invalid value 'digest' - at `$.auth.type`"),
        ({"bogus": 1}, "unknown field `bogus`"),
        ({"headers": {"a": [1]}}, "at `$.headers"),
    ],
)
def test_bad_params_are_refused_as_params_invalid(params: dict[str, Any], message: str) -> None:
    assert message in refused(**params)


def test_a_definition_can_be_checked_against_the_type() -> None:
    raw = {"url": "{{ input.url }}", "method": "{{ input.method }}", "json": "{{ input }}"}

    assert msgspec.convert(raw, HttpParams).url == "{{ input.url }}"  # templates still fit

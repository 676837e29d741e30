"""Secrets sent by http.request, in every encoding it sends them, are redacted from what a
server echoes back: the URL path and query, query params, JSON and form bodies, headers and
Basic auth, through the engine and a real server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, unquote_plus

import httpx
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from wfa.adapters.actions.builtin import default_registry
from wfa.adapters.actions.http import HttpRequest
from wfa.domain.run import RunStatus
from wfa.domain.secret_forms import secret_forms
from wfa.entrypoints.local import LocalEngine

SECRETS = [
    "tok en/42",
    "q\"uo'te\\back",
    "é€ünï/ß-日本",
    "a+b&c=d%20e",
    "s3cr3t-value+/x",
]
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def echo(request: Request) -> Response:
    """Everything the server received, as it arrived."""
    received = {
        "target": request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI"),
        "query": request.query_string.decode("latin-1"),
        "headers": dict(request.headers),
        "body": request.get_data().decode("utf-8", "replace"),
    }
    return Response(json.dumps(received), content_type="application/json")


def revealed(secret: str, text: str) -> bool:
    """Whether ``text`` holds the secret in any form it can be read back from."""
    readings = {text, unquote(text), unquote_plus(text)}
    with contextlib.suppress(ValueError):
        readings.add(json.loads(f'"{text}"'))
    for token in _BASE64.findall(text):
        for decode in (base64.b64decode, base64.urlsafe_b64decode):
            with contextlib.suppress(binascii.Error, ValueError):
                readings.add(decode(token + "=" * (-len(token) % 4)).decode("utf-8", "replace"))
    return any(secret in reading for reading in readings)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def sending(url: str) -> dict[str, Any]:
    secret = "{{ secrets.T }}"
    common = {
        "method": "POST",
        "url": f"{url}/p/{secret}?raw={secret}",
        "query": {"k": secret, "both": f"x {secret} y"},
        "headers": {"X-Api-Key": secret},
    }
    return {
        "name": "send-secret",
        "steps": [
            {
                "id": "json",
                "type": "task",
                "action": "http.request",
                "params": {
                    **common,
                    "json": {"token": secret, "list": [f"Bearer {secret}"]},
                    "auth": {"type": "basic", "username": "alice", "password": secret},
                },
            },
            {
                "id": "form",
                "type": "task",
                "action": "http.request",
                "params": {
                    **common,
                    "form": {"token": secret},
                    "auth": {"type": "basic", "username": "bo", "password": secret},
                },
            },
            {
                "id": "text",
                "type": "task",
                "action": "http.request",
                "params": {
                    **common,
                    "content": f"token={secret}",
                    "auth": {"type": "bearer", "token": secret},
                },
            },
        ],
    }


@pytest.fixture
def engine(make_action: Callable[..., HttpRequest]) -> LocalEngine:
    return LocalEngine.virtual(actions=default_registry(http=make_action()))


@pytest.mark.parametrize("secret", SECRETS)
async def test_every_form_the_action_sent_is_redacted_from_what_came_back(
    server: HTTPServer, engine: LocalEngine, secret: str
) -> None:
    server.expect_request(re.compile("/p/.*")).respond_with_handler(echo)
    await engine.set_secret.execute("T", secret)

    details = await engine.run_once(sending(server.url_for("").rstrip("/")))

    assert details.run.status is RunStatus.SUCCEEDED, details.run.error
    received = [echo(request).get_data(as_text=True) for request, _ in server.log]
    assert len(received) == 3
    # The server did get the secret, in each place: the test would see a leak.
    for text in received:
        assert revealed(secret, text)
    for step in ("json", "form", "text"):
        got = details.run.outputs[step]["body"]
        for place in ("target", "query", "body"):
            assert "***" in got[place], (step, place, got[place])
        assert got["headers"]["X-Api-Key"] == "***"
        assert "***" in got["headers"]["Authorization"]
    recorded = msgspec.to_builtins([details.run, details.history])
    leaks = [text for text in strings(recorded) if revealed(secret, text)]
    assert leaks == []


URL_TEXT = st.characters(exclude_characters="?#%", exclude_categories=["Cs", "Cc"])


@given(st.text(URL_TEXT, min_size=1))
def test_the_forms_hold_what_httpx_makes_of_a_value(value: str) -> None:
    forms = secret_forms(value)
    in_path = httpx.URL(f"http://h.example/{value}").raw_path.decode("ascii")[1:]
    assert in_path in forms or not in_path  # httpx may drop what it cannot put in a path
    param = httpx.URL("http://h.example/").copy_merge_params({"k": value}).query.decode()
    assert param.removeprefix("k=") in forms
    form_body = httpx.Request("POST", "http://h.example/", data={"k": value}).read().decode()
    assert form_body.removeprefix("k=") in forms
    json_body = httpx.Request("POST", "http://h.example/", json={"k": value}).read().decode()
    assert json_body.removeprefix('{"k":"').removesuffix('"}') in forms

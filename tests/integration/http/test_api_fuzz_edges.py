"""The API fuzz's explicit cases: inputs that once made 500s, and headers with odd values.

Beside the schemathesis run of ``test_api_fuzz`` (and on its app): bodies nested too deep,
NUL in bodies, paths and queries, cursors no page gave, and generated values — non-ASCII,
control characters, oversized — for every header a client sets. Never a 5xx; every refusal
a problem detail.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.python import asgi

from tests.integration.http.test_api_fuzz import (  # noqa: F401 (fixtures)
    API_OPERATIONS,
    APP,
    KEY,
    KNOWN,
    app,
    migrated,
)

pytestmark = pytest.mark.usefixtures("app")  # the fuzz's app, database, worker and seeds
SIGNED_HOOK = "/hooks/signed/orders"
DEEP = b"[" * 2_000 + b"]" * 2_000
CURSORS = ["WyJ4IiwieSJd", "zzz", "é", base64.b64encode(b'["2030-01-01", "\\u0000"]').decode()]
HEADERS = ["Authorization", "X-API-Key", "Idempotency-Key", "X-WFA-Signature", "Content-Type"]
HEADER_VALUES = st.one_of(
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
    st.sampled_from([b"sha256=\xc3\xa9\xc3\xa9", b"Bearer \xff", b"t=1,v1=zz", b"", b"x" * 5000]),
).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: KNOWN.workflows[0], path).replace("{hook_path}", "hello")


def no_server_error(response: Any, *where: Any) -> None:
    assert response.status_code < 500, (where, response.status_code, response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", where


def test_the_inputs_that_once_made_500s_are_4xx() -> None:
    with asgi.get_client(APP) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        workflow = KNOWN.workflows[0]
        json_routes = [
            ("POST", "/hooks/hello"),
            ("POST", f"/api/v1/workflows/{workflow}/runs"),
            ("POST", "/api/v1/workflows"),
            ("PUT", f"/api/v1/workflows/{workflow}"),
            ("POST", f"/api/v1/runs/{KNOWN.runs[0]}/cancel"),
        ]
        for method, path in json_routes:
            for body in (DEEP, b'{"input": {"a\\u0000": "\\u0000"}}', b'{"reason": "\\u0000"}'):
                response = client.request(
                    method, path, data=body, headers={"Content-Type": "application/json"}
                )
                no_server_error(response, method, path, body[:40])
                assert response.status_code >= 400 or b"reason" in body, (method, path)
        for cursor in CURSORS:
            response = client.get("/api/v1/runs", params={"cursor": cursor})
            assert response.status_code == 400, cursor
            no_server_error(response, cursor)
        for target in ("/api/v1/runs/%00", "/api/v1/workflows?after=%00", "/hooks/a%00"):
            response = client.request("POST" if "hooks" in target else "GET", target)
            assert response.status_code == 400, target
            no_server_error(response, target)


@given(
    operation=st.sampled_from([*API_OPERATIONS, ("POST", "/hooks/hello"), ("POST", SIGNED_HOOK)]),
    headers=st.dictionaries(st.sampled_from(HEADERS), HEADER_VALUES, min_size=1),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_odd_header_values_never_make_a_5xx(
    operation: tuple[str, str], headers: dict[str, bytes]
) -> None:
    method, path = operation
    if path.endswith("/stream"):
        return  # a stream of a waiting run goes on; its headers are checked elsewhere
    with asgi.get_client(APP) as client:
        # The client sends each character as one byte (Latin-1): any bytes at all.
        sent = {"Authorization": f"Bearer {KEY}"} | {
            name: value.decode("latin-1").lstrip() for name, value in headers.items()
        }
        response = client.request(method, concrete(path), headers=sent, data=b"{}")
    no_server_error(response, method, path, headers)


@pytest.mark.parametrize("value", [b"sha256=\xc3\xa9\xc3\xa9", b"sha256=zz", b"\xff"])
def test_a_signature_that_is_not_hex_is_401_not_500(value: bytes) -> None:
    with asgi.get_client(APP) as client:
        response = client.post(
            SIGNED_HOOK, data=b"{}", headers={"X-WFA-Signature": value.decode("latin-1")}
        )
    assert response.status_code == 401, response.text

"""The access log: one wfa.http line per request when switched on, with no secret in it."""

from __future__ import annotations

import logging

import pytest
from litestar import Litestar, get, post
from litestar.params import FromPath
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp

from wfa.adapters.observability.metrics import HttpMetrics
from wfa.application.log_context import current_log_context
from wfa.entrypoints.http.access_log import access_logged
from wfa.entrypoints.http.observe import metrics_middleware


@post("/callbacks/{token:str}", status_code=202)
async def callback(token: FromPath[str]) -> None:
    """A path that is itself a credential."""


@get("/api/v1/runs/{run_id:str}")
async def run(run_id: FromPath[str]) -> dict[str, str]:
    return {"id": run_id, "request_id": current_log_context()["request_id"]}


def app(log_requests: bool) -> ASGIApp:
    litestar = Litestar(
        route_handlers=[callback, run],
        middleware=[metrics_middleware(HttpMetrics())],
        logging_config=None,
    )
    return access_logged(litestar) if log_requests else litestar


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "wfa.http"]


async def test_each_request_is_one_line_with_its_method_path_status_duration_and_client(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "wfa.http")
    async with AsyncTestClient(app(log_requests=True)) as client:
        answer = await client.get("/api/v1/runs/r1?api_key=hunter2&x=1")
        assert answer.status_code == 200
        assert (await client.get("/nowhere")).status_code == 404

    found, missing = access_lines(caplog)
    assert found.getMessage().startswith("GET /api/v1/runs/r1?api_key=…&x=… 200 ")
    assert found.getMessage().endswith(" ms")
    assert (found.method, found.path, found.status) == (  # type: ignore[attr-defined]
        "GET",
        "/api/v1/runs/r1?api_key=…&x=…",
        200,
    )
    assert found.duration_ms >= 0  # type: ignore[attr-defined]
    assert found.client == "testclient"  # type: ignore[attr-defined]
    # The handler's records carry the same request id as the access log line.
    assert found.request_id == answer.json()["request_id"]  # type: ignore[attr-defined]
    assert len(found.request_id) == 32  # type: ignore[attr-defined]
    assert (missing.path, missing.status) == ("/nowhere", 404)  # type: ignore[attr-defined]
    assert "hunter2" not in caplog.text


async def test_a_credential_in_the_path_is_logged_by_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "wfa.http")
    async with AsyncTestClient(app(log_requests=True)) as client:
        assert (await client.post("/callbacks/s3cr3t-token")).status_code == 202

    [line] = access_lines(caplog)
    assert line.path == "/callbacks/{token}"  # type: ignore[attr-defined]
    assert "s3cr3t" not in caplog.text


async def test_a_mistyped_callback_link_is_cut_before_its_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "wfa.http")
    async with AsyncTestClient(app(log_requests=True)) as client:
        assert (await client.post("/callbacks/s3cr3t-token/nowhere")).status_code == 404

    [line] = access_lines(caplog)
    assert line.path == "/callbacks/…"  # type: ignore[attr-defined]
    assert "s3cr3t" not in caplog.text


async def test_many_query_names_are_cut_short(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wfa.http")
    query = "&".join(f"{'n' * 100}{i}=v" for i in range(50))
    async with AsyncTestClient(app(log_requests=True)) as client:
        await client.get(f"/api/v1/runs/r1?{query}")

    [line] = access_lines(caplog)
    assert line.path.count("=…") == 10  # type: ignore[attr-defined]
    assert line.path.endswith("&…")  # type: ignore[attr-defined]
    assert len(line.path) < 600  # type: ignore[attr-defined]


async def test_off_by_default_nothing_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "wfa.http")
    async with AsyncTestClient(app(log_requests=False)) as client:
        assert (await client.get("/api/v1/runs/r1")).status_code == 200
    assert access_lines(caplog) == []

"""Fuzz the whole API against its own OpenAPI document with schemathesis.

Every operation gets generated requests, valid and invalid, with a valid API key, and every
response must conform: no 5xx, a documented status code and content type, and a body that
matches its schema (``case.call_and_validate()``: all of schemathesis' checks). Valid requests
go now to random ids (404) and now to workflows, runs and webhooks made beforehand, so the
handlers' success paths are checked too. Another test sends each /api/v1 operation no key
or a wrong one, and wants a 401 problem every time.

How it is wired, and why:

* schemathesis parametrizes at collection, so the document is read then, from an app built
  without any I/O; the fixture checks the app under test serves the very same document at
  ``/schema/openapi.json``. (``schemathesis.pytest.from_fixture`` would read it later, but
  schemathesis 4.32 renames the test node through ``Function._nodeid``, which pytest 9.2
  no longer has.)
* The schema is bound to :data:`APP`, a stand-in for the app each test's fixture builds.
  schemathesis runs the app, lifespan included, on an event loop of its own and ends the
  lifespan after every test, so each operation gets a fresh app, database and worker.
"""

from __future__ import annotations

import re
import shutil
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from litestar.serialization import decode_json, encode_json
from litestar.types import Receive, Scope, Send
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi

from tests.integration.http.test_hooks_api import signature
from wfa.adapters.persistence.sqlalchemy import migrate
from wfa.entrypoints.config import Settings, load_settings
from wfa.entrypoints.container import Container
from wfa.entrypoints.http.app import create_app
from wfa.entrypoints.roles import LocalWorker, Scheduler

KEY = "fuzz-api-key-0123456789"
MAX_EXAMPLES = 12  # per operation, in the fuzzing phase (the coverage phase adds its own)


class DeferredApp:
    """An ASGI app that hands every call to the app the current test's fixture built."""

    app: Litestar | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no fuzz fixture has built the app"
        await self.app(scope, receive, send)


@dataclass
class Known:
    """Ids that exist, made by the fixture, for valid requests to aim at."""

    workflows: list[str] = field(default_factory=list)
    doomed_workflows: list[str] = field(default_factory=list)  # for DELETE only
    runs: list[str] = field(default_factory=list)
    ended_runs: list[str] = field(default_factory=list)  # their streams end at once
    hook_paths: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)

    def choices(self, method: str, path: str, name: str) -> list[str]:
        if name == "workflow_id" and path.startswith("/api/v1/workflows/"):
            return self.doomed_workflows if method == "DELETE" else self.workflows
        if name == "run_id":
            # A stream goes on until its run ends: only runs that have ended are followed.
            return self.ended_runs if path.endswith("/stream") else self.runs
        if name == "hook_path":
            return self.hook_paths
        if name == "name" and path.startswith("/api/v1/secrets/"):
            return self.secrets  # replaced (200) and deleted (204), not only created
        return []


APP = DeferredApp()
KNOWN = Known()


def document() -> dict[str, Any]:
    """The OpenAPI document as JSON, from an app that is never started (no I/O)."""
    app = create_app(Container(settings=Settings(database_url="sqlite+aiosqlite:///:memory:")))
    served: dict[str, Any] = decode_json(encode_json(app.openapi_schema.to_schema()))
    return served


DOCUMENT = document()
CONFIG = SchemathesisConfig.from_dict(
    {
        "auth": {"openapi": {"BearerAuth": {"bearer": KEY}}},
        # The same cases on every run: a failure here is a failure on the next run too.
        "generation": {"deterministic": True, "database": "none"},
        # Bounds, should a stream or a webhook's ?wait not end: such a request fails.
        "request-timeout": 10,
        "max-stream-events": 50,
        "operations": [
            {
                # A definition has rules no JSON Schema states (step links, known actions,
                # expressions, cron): a schema-valid definition may still be 422.
                "include-name": ["POST /api/v1/workflows", "PUT /api/v1/workflows/{workflow_id}"],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "401", "404", "409", "422"]
                    }
                },
                # Steps nest (parallel branches, map steps): the coverage phase would try each
                # keyword at every depth, thousands of bodies; fuzzing draws nested ones too.
                "phases": {"coverage": {"enabled": False}},
            },
            {
                # A cursor is opaque: only one a page handed out is valid, any other string
                # is 400, and no schema can tell the two apart.
                "include-name": "GET /api/v1/runs",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "400"]}
                },
            },
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
schema.app = APP


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("fuzz") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def app(migrated: Path, tmp_path: Path) -> Iterator[Litestar]:
    for file in migrated.parent.glob(f"{migrated.name}*"):
        shutil.copy(file, tmp_path / file.name.replace("template", "wfa"))
    url = f"sqlite+aiosqlite:///{tmp_path / 'wfa.db'}"
    settings_ = load_settings({"WFA_DATABASE_URL": url}, env_file=None)
    container = Container(settings=settings_)
    worker = LocalWorker(container.queue(), container.execute_step(), concurrency=4)
    scheduler = Scheduler(
        container.fire_due_timers(), container.prune_runs(), settings_.retention, interval=0.05
    )

    async def bootstrap() -> None:
        await container.ensure_bootstrap_key().execute(KEY)

    async def stop() -> None:
        await scheduler.stop()
        await worker.stop(grace=5)
        # Here, on the loop schemathesis runs the app on, where the connections were made.
        await container.database().dispose()

    APP.app = create_app(
        container, on_startup=[bootstrap, worker.start, scheduler.start], on_shutdown=[stop]
    )
    KNOWN.__init__()  # type: ignore[misc]
    try:
        with asgi.get_client(APP) as client:  # starts the app's lifespan
            client.headers["Authorization"] = f"Bearer {KEY}"
            assert client.get("/schema/openapi.json").json() == DOCUMENT
            seed(client)
        yield APP.app
    finally:
        asgi.shutdown_lifespans()  # schemathesis' plugin may have done so already
        APP.app = None


def seed(client: Any) -> None:
    """Workflows, runs that ended, failed or wait, and webhooks, for requests to find."""

    def create(definition: dict[str, Any]) -> str:
        response = client.post("/api/v1/workflows", json=definition)
        assert response.status_code == 201, response.text
        workflow_id: str = response.json()["id"]
        return workflow_id

    def start(workflow_id: str) -> str:
        response = client.post(f"/api/v1/workflows/{workflow_id}/runs", json={"input": {"n": 1}})
        assert response.status_code == 202, response.text
        run_id: str = response.json()["run_id"]
        return run_id

    hello, waiting, broken = create(HELLO), create(WAITING), create(BROKEN)
    KNOWN.workflows += [hello, waiting, broken, create(SIGNED)]
    KNOWN.doomed_workflows += [create({**WAITING, "name": f"doomed-{n}"}) for n in range(3)]
    KNOWN.hook_paths += ["hello", "signed/orders"]
    for name in ("TOKEN", "OTHER_TOKEN"):
        assert client.put(f"/api/v1/secrets/{name}", json={"value": "v"}).status_code == 201
        KNOWN.secrets.append(name)
    ended = [start(hello), start(broken)]
    KNOWN.runs += [*ended, start(waiting)]
    KNOWN.ended_runs += ended
    body = b'{"n": 2}'
    signed = client.post(
        "/hooks/signed/orders",
        data=body,
        headers={"content-type": "application/json", "X-WFA-Signature": signature(body)},
    )
    assert signed.status_code == 202, signed.text
    deadline = time.monotonic() + 10
    for run_id in ended:
        while client.get(f"/api/v1/runs/{run_id}").json()["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"run {run_id} did not end"
            time.sleep(0.01)


HELLO = {
    "name": "hello",
    "trigger": {"type": "webhook", "path": "hello"},
    "steps": [{"id": "greet", "type": "task", "action": "set", "params": {"hi": "{{ input }}"}}],
}
WAITING = {"name": "waiting", "steps": [{"id": "pause", "type": "wait", "seconds": 3600}]}
BROKEN = {
    "name": "broken",
    "steps": [
        {"id": "first", "type": "task", "action": "set", "params": {"n": 1}},
        {"id": "second", "type": "task", "action": "fail", "params": {"retryable": False}},
    ],
}
SIGNED = {
    "name": "signed",
    "trigger": {"type": "webhook", "path": "signed/orders", "secret": "s3cret"},
    "steps": [{"id": "done", "type": "succeed"}],
}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    # One app per operation, shared by all of that operation's generated requests: meant so.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_every_response_conforms_to_the_document(app: Litestar, case: Any) -> None:
    if case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE:
        aim_at_known_ids(case)
    case.call_and_validate()


def aim_at_known_ids(case: Any) -> None:
    """Swap generated path ids for existing ones in some valid requests.

    The choice follows from the rest of the request, so a case Hypothesis replays or
    shrinks goes to the same place each time.
    """
    for name, value in (case.path_parameters or {}).items():
        known = KNOWN.choices(case.method.upper(), case.path, name)
        if known:
            seen = repr((case.method, case.path, name, value, case.query, case.body))
            options = [value, *known]
            case.path_parameters[name] = options[zlib.crc32(seen.encode()) % len(options)]


API_OPERATIONS = [
    (method.upper(), path)
    for path, item in DOCUMENT["paths"].items()
    if path.startswith("/api/v1/")
    for method in item
    if method in ("get", "put", "post", "delete", "patch")
]


def test_every_api_operation_needs_a_valid_key(app: Litestar) -> None:
    assert len(API_OPERATIONS) >= 10
    refused = []
    with asgi.get_client(APP) as client:
        for method, path in API_OPERATIONS:
            concrete = re.sub(r"\{[^}]+\}", KNOWN.runs[0], path)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}):
                response = client.request(method, concrete, headers=headers, json={})
                problem = response.headers["content-type"] == "application/problem+json"
                if response.status_code != 401 or not problem:
                    refused.append((method, path, headers, response.status_code))
    assert refused == []


def test_a_last_event_id_beyond_the_history_still_ends_with_the_stream(app: Litestar) -> None:
    # Every event up to that id was skipped, the run's last one too, and the stream went on
    # sending keep-alives after the run had ended. Here, unlike with Litestar's test client,
    # a request that does not end is cut off at its timeout, so the test fails, not hangs.
    with asgi.get_client(APP) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        short = {"name": "short", "steps": [{"id": "pause", "type": "wait", "seconds": 0.3}]}
        workflow_id = client.post("/api/v1/workflows", json=short).json()["id"]
        run_id = client.post(f"/api/v1/workflows/{workflow_id}/runs", json={}).json()["run_id"]
        stream = client.get(
            f"/api/v1/runs/{run_id}/stream", headers={"Last-Event-ID": "999"}, timeout=5
        )
    assert stream.status_code == 200
    assert "event: run.succeeded" in stream.text

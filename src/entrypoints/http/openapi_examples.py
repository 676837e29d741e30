"""Examples in the OpenAPI document: a definition, a run, a refused definition, a webhook body.

Taken from real answers of the API (ids and times aside) and checked by the tests: each
example matches its schema, and each definition example is accepted by ``POST /workflows``.
The webhook's body is documented here too: the handler reads the raw bytes (to check their
signature), so Litestar cannot see that any JSON is welcome.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import (
    Example,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    RequestBody,
    Schema,
)

from wfa.entrypoints.http.problems import PROBLEM_JSON


class _Verbatim(Example):
    """An example whose value is written as it is: Litestar drops every ``null`` inside one,
    and a run's ``"error": null`` is an answer's required field, not an absent one."""

    def to_schema(self) -> dict[str, Any]:
        written = super().to_schema()
        written["value"] = self.value
        return written


ONE_STEP = {
    "name": "hello",
    "steps": [
        {"id": "greet", "type": "task", "action": "set", "params": {"hi": "{{ input.name }}"}}
    ],
}
ORDER_CREATED = {
    "name": "order-created",
    "trigger": {"type": "webhook", "path": "orders"},
    "steps": [
        {
            "id": "total",
            "type": "task",
            "action": "set",
            "params": {"total": "{{ input.total }}"},
            "retry": {"max_attempts": 5, "initial_interval": 1.0, "jitter": "full"},
            "catch": [{"errors": ["*"], "next": "report"}],
        },
        {
            "id": "big",
            "type": "choice",
            "choices": [{"when": "steps.total.output.total > `100`", "next": "notify"}],
            "default": "done",
        },
        {"id": "notify", "type": "task", "action": "log", "params": {"message": "big order"}},
        {"id": "done", "type": "succeed"},
        {"id": "report", "type": "fail", "error": "TotalMissing"},
    ],
}
DEFINITIONS = {
    "one-step": Example(summary="A one-step workflow", value=ONE_STEP),
    "order-created": Example(
        summary="A webhook-triggered workflow with retry, catch and a choice", value=ORDER_CREATED
    ),
}

_WHEN = "2026-12-02T04:03:53.021558Z"
_ID = "01a234ec-543d-76cd-aff4-584fba6661b0"
_ATTEMPT = {
    "attempt": 1,
    "try_number": 1,
    "status": "succeeded",
    "scheduled_at": _WHEN,
    "due_at": _WHEN,
    "started_at": _WHEN,
    "ended_at": "2026-12-02T04:03:53.037570Z",
    "duration": 0.016,
    "error": None,
    "output": {"total": 250},
}
RUN = {
    "id": _ID,
    "workflow_id": "01a234ec-542f-7acf-8c8a-e4bc2e4f30c8",
    "workflow_version": 1,
    "status": "succeeded",
    "trigger": "manual",
    "input": {"order_id": "A-17", "total": 250},
    "output": {"message": "big order"},
    "error": None,
    "failed_step": None,
    "current_step": None,
    "created_at": _WHEN,
    "updated_at": "2026-12-02T04:03:53.041156Z",
    "wake_at": None,
    "steps": [
        {"id": "total", "attempts": [_ATTEMPT]},
        {"id": "notify", "attempts": [{**_ATTEMPT, "output": {"message": "big order"}}]},
    ],
}
INVALID_DEFINITION = {
    "title": "Unprocessable Content",
    "status": 422,
    "detail": "invalid definition (2 problems): steps[0].next: unknown step 'b'; "
    "steps[0].action: unknown action 'nope'",
    "instance": "/api/v1/workflows",
    "problems": [
        {"path": "steps[0].next", "message": "unknown step 'b'"},
        {"path": "steps[0].action", "message": "unknown action 'nope'"},
    ],
}
WEBHOOK_BODY = {"order_id": "A-17", "total": 250}

_DEFINITION_OPERATIONS = (("/api/v1/workflows", "post"), ("/api/v1/workflows/{workflow_id}", "put"))


def add_examples(openapi: OpenAPI) -> None:
    """Put the examples on their operations, and the webhook's body on ``POST /hooks``."""
    paths = openapi.paths or {}
    for path, method in _DEFINITION_OPERATIONS:
        operation = getattr(paths[path], method)
        _body_examples(operation, DEFINITIONS)
        _answer_example(operation, "422", PROBLEM_JSON, "invalid-definition", INVALID_DEFINITION)
    run = paths["/api/v1/runs/{run_id}"].get
    _answer_example(run, "200", "application/json", "succeeded", RUN)
    hook = paths["/hooks/{hook_path}"].post
    if isinstance(hook, Operation):
        hook.request_body = RequestBody(
            description="Any JSON value (or nothing): it becomes the run's input as it is. "
            "Its size and nesting are bounded as every body's (WFA_MAX_PAYLOAD_BYTES, "
            "WFA_MAX_JSON_DEPTH); a body that is not JSON is 400.",
            required=False,
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(description="Any JSON value: the run's input."),
                    examples={"order": Example(summary="An order", value=WEBHOOK_BODY)},
                )
            },
        )


def _body_examples(operation: Any, examples: dict[str, Example]) -> None:
    body = operation.request_body if isinstance(operation, Operation) else None
    if isinstance(body, RequestBody):
        for media in body.content.values():
            media.examples = dict(examples)


def _answer_example(operation: Any, status: str, media: str, name: str, value: Any) -> None:
    if not isinstance(operation, Operation):  # pragma: no cover - the routes exist
        raise LookupError("an operation to document is missing")
    answer = (operation.responses or {}).get(status)
    if isinstance(answer, OpenAPIResponse) and answer.content and media in answer.content:
        answer.content[media].examples = {name: _Verbatim(value=value)}

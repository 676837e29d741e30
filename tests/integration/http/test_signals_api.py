"""Signals and task callbacks over HTTP: a run that waits for the world, resumed from outside."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.integration.http.conftest import Api

APPROVAL = {
    "name": "refund",
    "steps": [
        {
            "id": "approve",
            "type": "await",
            "signal": "approval",
            "timeout": 3600,
            "schema": {
                "type": "object",
                "required": ["approved"],
                "properties": {"approved": {"type": "boolean"}},
            },
        },
        {"id": "done", "type": "succeed", "output": "{{ steps.approve.output }}"},
    ],
}
ASK = {
    "name": "ask",
    "steps": [
        {"id": "first", "type": "task", "action": "noop"},
        {
            "id": "ask",
            "type": "task",
            "action": "log",
            "params": {"message": "approve at {{ callback.url }}"},
            "callback": {"timeout": 600},
            "retry": {"max_attempts": 1},
        },
    ],
}


@pytest.fixture(autouse=True)
def action_log(caplog: pytest.LogCaptureFixture) -> None:
    """The log action's lines, where a step that hands out a link writes it."""
    caplog.set_level(logging.INFO, logger="wfa.actions")


async def start(api: Api, definition: dict[str, Any], body: Any = None) -> str:
    workflow = await api.create_workflow(definition)
    response = await api.client.post(
        f"/api/v1/workflows/{workflow['id']}/runs", json={"input": body}
    )
    assert response.status_code == 202, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def until(api: Api, run_id: str, status: str, seconds: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            body: dict[str, Any] = (await api.client.get(f"/api/v1/runs/{run_id}")).json()
            if body["status"] == status:
                return body
            await asyncio.sleep(0.02)


async def test_a_waiting_run_shows_what_it_awaits_and_a_signal_resumes_it(api: Api) -> None:
    run_id = await start(api, APPROVAL)
    waiting = await until(api, run_id, "waiting")
    assert waiting["awaiting"]["signal"] == "approval"
    assert waiting["awaiting"]["step_id"] == "approve"
    assert waiting["awaiting"]["until"] is not None

    sent = await api.client.post(f"/api/v1/runs/{run_id}/signals/approval", json={"approved": True})

    assert sent.status_code == 202, sent.text
    assert sent.json() == {
        "run_id": run_id,
        "signal": "approval",
        "seq": sent.json()["seq"],
        "taken_by": "approve",
        "duplicate": False,
    }
    ended = await api.wait_for_end(run_id)
    assert ended["status"] == "succeeded"
    assert ended["output"] == {"approved": True}


async def test_a_signal_with_the_same_idempotency_key_is_received_once(api: Api) -> None:
    run_id = await start(
        api,
        {**APPROVAL, "steps": [{"id": "t", "type": "task", "action": "noop"}, *APPROVAL["steps"]]},
    )
    headers = {"Idempotency-Key": "approval-1"}
    path = f"/api/v1/runs/{run_id}/signals/approval"
    first = await api.client.post(path, json={"approved": False}, headers=headers)
    again = await api.client.post(path, json={"approved": True}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json()["duplicate"] is True
    assert again.json()["seq"] == first.json()["seq"]
    ended = await api.wait_for_end(run_id)
    assert ended["output"] == {"approved": False}, "the first delivery is the one kept"
    events = (await api.client.get(f"/api/v1/runs/{run_id}/events")).json()["items"]
    assert [e["type"] for e in events].count("signal.received") == 1


async def test_a_signal_that_does_not_fit_the_waiting_step_is_422_with_its_path(api: Api) -> None:
    run_id = await start(api, APPROVAL)
    await until(api, run_id, "waiting")
    refused = await api.client.post(
        f"/api/v1/runs/{run_id}/signals/approval", json={"approved": "yes"}
    )
    assert refused.status_code == 422
    assert refused.json()["problems"] == [
        {"path": "payload.approved", "message": "expected boolean, got string"}
    ]
    assert (await api.client.get(f"/api/v1/runs/{run_id}")).json()["status"] == "waiting"


async def test_signals_to_an_ended_run_or_with_a_bad_name_are_refused(api: Api) -> None:
    run_id = await start(
        api, {"name": "quick", "steps": [{"id": "t", "type": "task", "action": "noop"}]}
    )
    await api.wait_for_end(run_id)
    ended = await api.client.post(f"/api/v1/runs/{run_id}/signals/late", json=1)
    assert ended.status_code == 409
    assert ended.json()["code"] == "run.ended"
    bad = await api.client.post(f"/api/v1/runs/{run_id}/signals/no%20spaces", json=1)
    assert bad.status_code == 400
    assert bad.json()["problems"][0]["path"] == "path.name"
    unknown = await api.client.post("/api/v1/runs/nope/signals/x", json=1)
    assert unknown.status_code == 404


async def test_a_viewer_key_cannot_send_signals(api: Api) -> None:
    created = await api.client.post("/api/v1/api-keys", json={"name": "v", "scope": "viewer"})
    viewer = created.json()["key"]
    run_id = await start(api, APPROVAL)
    refused = await api.client.post(
        f"/api/v1/runs/{run_id}/signals/approval",
        json={"approved": True},
        headers={"Authorization": f"Bearer {viewer}"},
    )
    assert refused.status_code == 403


# -- callbacks ------------------------------------------------------------------------------------


async def callback_link(api: Api, run_id: str, caplog: Any) -> str:
    """The link the step logged (its log line is for operators); the run's record, which a
    viewer key may read, shows it redacted."""
    await until(api, run_id, "waiting")
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("approve at")]
    link = line.removeprefix("approve at ")
    assert link.startswith("http://127.0.0.1:8000/callbacks/")
    token = link.rsplit("/", 1)[-1]
    events = (await api.client.get(f"/api/v1/runs/{run_id}/events")).json()["items"]
    started = next(e for e in events if e["type"] == "await.started")
    assert started["action_output"] == {"message": "approve at http://127.0.0.1:8000/callbacks/***"}
    assert token not in str(events)
    return link.removeprefix("http://127.0.0.1:8000")


async def test_a_callback_link_resumes_its_step_once_without_an_api_key(api: Api, caplog) -> None:
    run_id = await start(api, ASK)
    path = await callback_link(api, run_id, caplog)
    del api.client.headers["Authorization"]

    used = await api.client.post(path, json={"approved": True, "by": "ann"})
    again = await api.client.post(path, json={"approved": False})

    assert used.status_code == 200, used.text
    assert used.json()["run_id"] == run_id
    assert used.json()["step_id"] == "ask"
    assert again.status_code == 409
    assert again.json()["code"] == "callback.used"
    assert path.split("/")[2] not in again.text, "the token is not repeated in an error"
    ended = await api.wait_for_end_with_key(run_id)
    assert ended["status"] == "succeeded"
    assert ended["output"] == {"approved": True, "by": "ann"}


async def test_a_callback_can_fail_its_step_with_a_named_error(api: Api, caplog) -> None:
    run_id = await start(api, ASK)
    path = await callback_link(api, run_id, caplog)
    failed = await api.client.post(f"{path}/fail", json={"error": "Rejected", "message": "no"})
    assert failed.status_code == 200
    ended = await api.wait_for_end(run_id)
    assert ended["status"] == "failed"
    assert ended["error"]["error"] == "Rejected"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: token.split(".")[0],
        lambda token: "not-a-token",
    ],
)
async def test_a_forged_or_changed_callback_token_is_404(api: Api, tamper: Any, caplog) -> None:
    run_id = await start(api, ASK)
    path = await callback_link(api, run_id, caplog)
    token = path.removeprefix("/callbacks/")
    refused = await api.client.post(f"/callbacks/{tamper(token)}", json={})
    assert refused.status_code == 404
    assert (await api.client.get(f"/api/v1/runs/{run_id}")).json()["status"] == "waiting"


# -- events ---------------------------------------------------------------------------------------

ORDER = {
    "name": "order",
    "steps": [
        {
            "id": "paid",
            "type": "await",
            "event": "order.paid",
            "match": "event.order_id == input.order_id",
        }
    ],
}
RECEIPT = {
    "name": "receipt",
    "trigger": {"type": "event", "name": "order.paid", "filter": "amount >= `100`"},
    "steps": [{"id": "r", "type": "task", "action": "set", "params": {"got": "{{ input }}"}}],
}


async def test_a_published_event_starts_triggered_runs_and_resumes_the_run_it_matches(api: Api):
    receipt = await api.create_workflow(RECEIPT)
    run_id = await start(api, ORDER, {"order_id": "A-17"})
    other = await start(api, ORDER, {"order_id": "B-2"})
    await until(api, run_id, "waiting")

    body = {"name": "order.paid", "id": "pay-981", "payload": {"order_id": "A-17", "amount": 250}}
    published = await api.client.post("/api/v1/events", json=body)
    again = await api.client.post("/api/v1/events", json=body)

    assert published.status_code == again.status_code == 202, published.text
    assert published.json() == {"id": "pay-981", "duplicate": False}
    assert again.json() == {"id": "pay-981", "duplicate": True}
    ended = await api.wait_for_end(run_id)
    assert ended["output"] == {"order_id": "A-17", "amount": 250}
    assert (await api.client.get(f"/api/v1/runs/{other}")).json()["status"] == "waiting"
    listed = await api.client.get(f"/api/v1/runs?workflow_id={receipt['id']}")
    [started] = listed.json()["items"]
    assert (started["trigger"], started["input"]) == ("event", body["payload"])


async def test_a_bad_event_is_refused_with_a_problem(api: Api) -> None:
    bad_name = await api.client.post("/api/v1/events", json={"name": "no spaces"})
    assert bad_name.status_code == 400
    assert bad_name.json()["problems"][0]["path"] == "body.name"
    unknown_field = await api.client.post("/api/v1/events", json={"name": "x", "extra": 1})
    assert unknown_field.status_code == 400


async def test_a_bad_callback_body_never_repeats_the_token(api: Api, caplog) -> None:
    run_id = await start(api, ASK)
    path = await callback_link(api, run_id, caplog)
    token = path.removeprefix("/callbacks/")
    refused = await api.client.post(f"{path}/fail", json={"error": 7})
    assert refused.status_code == 400
    assert token not in refused.text

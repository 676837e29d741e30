"""Notify targets are told of runs' ends (and starts), signed, retried, apart from the run."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from tests.unit.application.conftest import task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import FakeClock, SeededEntropy
from wfa.application.ports.notices import DeliveryFailed
from wfa.application.use_cases.notices import MAX_ATTEMPTS, MAX_BACKOFF, backoff
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine


class Target:
    """A notify target that answers as scripted: 'ok', a retryable failure, or a refusal."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.received: list[tuple[str, dict[str, Any], dict[str, str], str]] = []

    async def post(self, url: str, body: str, headers: dict[str, str], key: str) -> None:
        self.received.append((url, json.loads(body), headers, body))
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "busy":
            raise DeliveryFailed("http.status.503: busy", retryable=True)
        if answer == "refused":
            raise DeliveryFailed("http.status.400: no", retryable=False)


def engine_with(target: Target, uow_factory: Any) -> LocalEngine:
    return LocalEngine(
        clock=FakeClock(),
        entropy=SeededEntropy(3),
        actions=ActionRegistry(builtin_actions()),
        unit_of_work=uow_factory,
        poster=target,
    )


def notified(**target: Any) -> dict[str, Any]:
    return {
        **workflow(task("a", "set", params={"n": "{{ input.n }}"}), name="told"),
        "notify": [{"url": "https://hooks.example/wfa", **target}],
    }


async def test_a_run_end_is_posted_once_to_each_target_that_asked_for_it(uow_factory):
    target = Target()
    engine = engine_with(target, uow_factory)
    definition = notified(events=["run.started", "run.succeeded"])
    definition["notify"].append({"url": "https://other.example/x", "events": ["run.failed"]})
    details = await engine.run_once(definition, {"n": 4})
    await engine.send_notices.execute()
    await engine.send_notices.execute()

    assert details.run.status is RunStatus.SUCCEEDED
    assert [(url, body["event"]) for url, body, _, _ in target.received] == [
        ("https://hooks.example/wfa", "run.started"),
        ("https://hooks.example/wfa", "run.succeeded"),
    ]
    body = target.received[1][1]
    assert body["run_id"] == details.run.id
    assert body["workflow"] == "told"
    assert body["output"] == {"n": 4}
    assert target.received[1][2]["x-wfa-event"] == "run.succeeded"
    assert "x-wfa-signature" not in target.received[1][2], "no secret, no signature"


async def test_a_notice_is_signed_with_the_stored_secret_it_names(uow_factory):
    target = Target()
    engine = engine_with(target, uow_factory)
    await engine.set_secret.execute("HOOK_KEY", "s3cret")
    await engine.run_once(notified(events=["run.succeeded"], secret="HOOK_KEY"), {"n": 1})
    await engine.send_notices.execute()

    [(_, _, headers, raw)] = target.received
    stamp, mac = headers["x-wfa-signature"].removeprefix("t=").split(",v1=")
    expected = hmac.new(b"s3cret", f"{stamp}.{raw}".encode(), hashlib.sha256).hexdigest()
    assert mac == expected
    assert "s3cret" not in raw


async def test_a_failing_target_is_tried_again_with_backoff_then_given_up(uow_factory, caplog):
    target = Target(*["busy"] * MAX_ATTEMPTS)
    engine = engine_with(target, uow_factory)
    assert isinstance(engine.clock, FakeClock)
    await engine.run_once(notified(events=["run.succeeded"]), {"n": 1})
    assert len(target.received) == 1  # posted as the run ended
    for attempt in range(1, MAX_ATTEMPTS):
        assert await engine.send_notices.execute() == 0, "not before its backoff"
        engine.clock.advance(backoff(attempt))
        assert await engine.send_notices.execute() == 1
    assert len(target.received) == MAX_ATTEMPTS
    engine.clock.advance(MAX_BACKOFF)
    assert await engine.send_notices.execute() == 0, "given up"
    assert "gave up on a run.succeeded notice" in caplog.text


async def test_a_refusing_target_is_not_tried_again_and_the_run_never_waits(uow_factory):
    target = Target("refused")
    engine = engine_with(target, uow_factory)
    details = await engine.run_once(notified(events=["run.succeeded"]), {"n": 1})
    assert details.run.status is RunStatus.SUCCEEDED  # ended before anything was posted
    await engine.send_notices.execute()
    engine.clock.advance(3600)
    await engine.send_notices.execute()
    assert len(target.received) == 1


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ({"url": "ftp://x"}, "notify[0].url: must be an http:// or https:// URL (no templates)"),
        ({"url": "https://x", "events": ["run.exploded"]}, "notify[0].events: unknown event"),
        ({"url": "https://x", "secret": "not a name"}, "notify[0].secret: must be the name"),
    ],
)
def test_notify_targets_are_checked(target: dict[str, Any], problem: str) -> None:
    from tests.unit.domain.builders import problems

    found = problems({**workflow(task("a")), "notify": [target]})
    assert any(line.startswith(problem) for line in found), found

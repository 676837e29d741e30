"""Await steps, signals, task callbacks and run deadlines end to end on every store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.application.conftest import task, workflow
from wfa.application.errors import InvalidRequest, UnknownCallback
from wfa.domain.errors import Refusal
from wfa.domain.events import AwaitStarted, SignalConsumed, SignalReceived
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine


def await_(step_id: str = "wait", signal: str = "go", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "await", "signal": signal, **extra}


async def started(
    engine: Any, definition: dict[str, Any], input: Any = None, drain: bool = True
) -> str:
    """A run started, and (with ``drain``) moved as far as its jobs take it."""
    added = await engine.add_workflow(definition)
    run_id: str = await engine.start(added.id, input)
    if drain:
        await engine.queue.drain(engine.execute_step.execute)
    return run_id


async def test_a_signal_resumes_an_awaiting_run_and_becomes_its_steps_output(make_engine):
    engine = make_engine()
    run_id = await started(
        engine, workflow(await_(), task("after", "set", params={"v": "{{ steps.wait.output }}"}))
    )
    assert (await engine.get_run.execute(run_id)).run.status is RunStatus.WAITING

    delivered = await engine.deliver_signal.execute(run_id, "go", {"n": 1})

    assert delivered.taken_by == "wait"
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == {"v": {"n": 1}}


async def test_a_signal_sent_early_waits_in_the_inbox_for_its_step(make_engine):
    engine = make_engine()
    run_id = await started(engine, workflow(task("first"), await_()), drain=False)
    # The run is queued at its first task; the signal comes first and is kept.
    early = await engine.deliver_signal.execute(run_id, "go", "early")
    assert early.taken_by is None
    assert (await engine.get_run.execute(run_id)).run.inbox[0].payload == "early"
    details = await engine.settle(run_id)
    assert details.run.output == "early"


async def test_one_idempotency_key_is_received_once_on_every_store(make_engine):
    engine = make_engine()
    run_id = await started(engine, workflow(task("first"), await_()), drain=False)
    first = await engine.deliver_signal.execute(run_id, "go", 1, key="k")
    again = await engine.deliver_signal.execute(run_id, "go", 2, key="k")
    other = await engine.deliver_signal.execute(run_id, "go", 3, key="other")
    assert (again.duplicate, again.seq) == (True, first.seq)
    assert other.duplicate is False
    details = await engine.settle(run_id)
    received = [e for e in details.history if isinstance(e, SignalReceived)]
    assert [(e.payload, e.key) for e in received] == [(1, "k"), (3, "other")]
    assert details.run.output == 1
    assert [s.payload for s in details.run.inbox] == [3], "kept: no step took it"


async def test_an_await_times_out_on_the_clock_and_its_catch_routes_the_run(make_engine):
    engine = make_engine()
    definition = workflow(
        await_(timeout=30, catch=[{"errors": ["await.timeout"], "next": "late"}]),
        {"id": "ok", "type": "succeed"},
        {"id": "late", "type": "succeed", "output": "nobody answered"},
    )
    run_id = await started(engine, definition)
    details = await engine.settle(run_id)  # the fake clock jumps to the await's deadline
    assert details.run.output == "nobody answered"
    assert details.run.caught["wait"].error == "await.timeout"


async def test_a_run_deadline_cancels_the_children_of_a_map_it_was_waiting_for(make_engine):
    engine = make_engine()
    definition = {
        **workflow(
            {
                "id": "each",
                "type": "map",
                "items": "{{ input }}",
                "steps": [await_("inner", timeout=3600)],
            }
        ),
        "timeout": 60,
    }
    run_id = await started(engine, definition, [1, 2, 3])
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "run.timeout"
    children = await engine.list_children.execute(run_id, "each", None)
    assert {child.status for child in children.runs} == {RunStatus.CANCELLED}


# -- callbacks ------------------------------------------------------------------------------------


ASK = workflow(
    task(
        "ask",
        "tell",  # scripted: it hands the link to someone, and says so
        params={"url": "{{ callback.url }}", "token": "{{ callback.token }}"},
        callback={"timeout": 600},
        retry={"max_attempts": 1},
    )
)


def told(call: int, context: Any) -> Any:
    return {"sent_to": "approver", "echo": context.run_context["callback"]["url"]}


async def link(engine: Any, run_id: str, scripted: Any) -> str:
    """The token the action handed out; the run's own record never shows it."""
    params, _ = scripted["tell"].calls[-1]
    token: str = params["token"]
    assert params["url"].endswith(f"/callbacks/{token}")
    details = await engine.get_run.execute(run_id)
    started_ = next(e for e in details.history if isinstance(e, AwaitStarted))
    assert started_.action_output["sent_to"] == "approver"
    assert token not in str(started_.action_output), "the link is redacted from the record"
    assert started_.action_output["echo"].endswith("/callbacks/***")
    return token


async def test_a_callback_resumes_its_step_once_and_a_second_use_is_refused(make_engine, scripted):
    engine = make_engine(tell=told)
    run_id = await started(engine, ASK)
    token = await link(engine, run_id, scripted)

    used = await engine.use_callback.succeed(token, {"approved": True})
    with pytest.raises(Refusal) as again:
        await engine.use_callback.succeed(token, {"approved": False})

    assert used.step_id == "ask"
    assert used.run.status is RunStatus.SUCCEEDED
    assert used.run.output == {"approved": True}
    assert again.value.code == "callback.used"


async def test_a_forged_token_is_unknown_and_an_expired_one_refused(make_engine, scripted):
    engine = make_engine(tell=told)
    run_id = await started(engine, ASK)
    token = await link(engine, run_id, scripted)
    body, _, mac = token.partition(".")
    with pytest.raises(UnknownCallback):
        await engine.use_callback.succeed(f"{body}.{mac[::-1]}", {})
    engine.clock.advance(601)
    with pytest.raises(Refusal):
        await engine.use_callback.succeed(token, {})
    details = await engine.settle(run_id)
    assert details.run.error is not None
    assert details.run.error.error == "callback.timeout"


# -- idempotency keys, as a property -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    deliveries=st.lists(
        st.tuples(st.sampled_from(["k1", "k2", "k3", None]), st.integers(0, 9)),
        min_size=1,
        max_size=12,
    ),
    awaits=st.integers(0, 3),
)
def test_each_key_is_received_once_whatever_order_signals_come_in(
    deliveries: list[tuple[str | None, int]], awaits: int
) -> None:
    """Signals sent with keys, again and again, before and while steps await: each key is
    recorded once (the first payload), each unkeyed signal once per send, and no signal is
    taken twice or lost: taken ones plus the inbox are exactly what was recorded."""
    engine = LocalEngine.virtual()
    steps = [await_(f"w{i}", timeout=60) for i in range(awaits)] or [task("t")]

    async def scenario() -> None:
        added = await engine.add_workflow(workflow(task("first"), *steps))
        run_id = await engine.start(added.id)
        first_seen: dict[str, tuple[int, int]] = {}
        for position, (key, payload) in enumerate(deliveries):
            if position == len(deliveries) // 2:
                await engine.queue.drain(engine.execute_step.execute)  # now steps await
            try:
                sent = await engine.deliver_signal.execute(run_id, "go", payload, key=key)
            except Refusal:
                continue  # the run ended: nothing more is taken
            if key is not None and key in first_seen:
                assert sent.duplicate
                assert sent.seq == first_seen[key][0]
            elif key is not None:
                first_seen[key] = (sent.seq, payload)
        details = await engine.settle(run_id)
        received = [e for e in details.history if isinstance(e, SignalReceived)]
        keys = [e.key for e in received if e.key is not None]
        assert len(keys) == len(set(keys)), "a key is received once"
        for key, (seq, payload) in first_seen.items():
            assert [(e.seq, e.payload) for e in received if e.key == key] == [(seq, payload)]
        taken = [e.signal_seq for e in details.history if isinstance(e, SignalConsumed)]
        assert len(taken) == len(set(taken)), "no signal is taken twice"
        kept = [signal.seq for signal in details.run.inbox]
        assert sorted(taken + kept) == [e.seq for e in received], "none is lost"

    asyncio.run(scenario())


async def test_the_signals_a_run_keeps_hold_one_payloads_worth_together(make_engine):
    engine = make_engine(max_payload_bytes=2048)
    run_id = await started(engine, workflow(task("first"), await_()), drain=False)
    await engine.deliver_signal.execute(run_id, "go", "x" * 1500)
    with pytest.raises(Refusal) as full:
        await engine.deliver_signal.execute(run_id, "go", "y" * 1000)
    assert full.value.code == "signal.inbox_full"
    assert "WFA_MAX_PAYLOAD_BYTES" in str(full.value)


async def test_a_signal_key_may_not_pose_as_an_event(make_engine):
    engine = make_engine()
    run_id = await started(engine, workflow(await_()))
    with pytest.raises(InvalidRequest):
        await engine.deliver_signal.execute(run_id, "go", 1, key="event:pay-1")


def test_an_integer_of_any_size_is_checked_without_overflow() -> None:
    from wfa.domain.payload_schema import payload_problems

    assert payload_problems({"type": "integer"}, 10**400) == []
    assert payload_problems({"const": {"a": True}}, {"a": 1}) != []

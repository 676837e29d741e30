"""Published events on every store: triggers start runs, awaits take the event they match."""

from __future__ import annotations

import uuid
from typing import Any

from tests.unit.application.conftest import task, workflow
from wfa.application.ports.repositories import RunFilter
from wfa.domain.run import Run, RunStatus

RECEIPT = {
    **workflow(task("receipt", "set", params={"got": "{{ input }}"}), name="receipt"),
    "trigger": {"type": "event", "name": "order.paid", "filter": "amount >= `100`"},
}
ORDER = workflow(
    task("reserve"),
    {
        "id": "paid",
        "type": "await",
        "event": "order.paid",
        "match": "event.order_id == input.order_id",
        "timeout": 3600,
    },
    name="order",
)


def fresh(name: str) -> str:
    """An event id of its own: the PostgreSQL store is shared by the session's tests."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def runs_of(engine: Any, workflow_id: str) -> list[Run]:
    async with engine.unit_of_work() as uow:
        return (await uow.runs.page(RunFilter(workflow_id=workflow_id), 100)).runs


async def test_an_event_starts_a_run_of_each_workflow_whose_trigger_matches_once(make_engine):
    engine = make_engine()
    receipt = await engine.add_workflow(RECEIPT)
    pay = fresh("pay")
    big = await engine.publish_event.execute("order.paid", {"amount": 250}, pay)
    again = await engine.publish_event.execute("order.paid", {"amount": 250}, pay)
    await engine.publish_event.execute("order.paid", {"amount": 5}, fresh("pay-2"))  # filtered out
    await engine.publish_event.execute("order.refunded", {"amount": 250})  # not its name
    assert (big.duplicate, again.duplicate) == (False, True)

    assert await engine.handle_events.execute() >= 3  # (PostgreSQL's may hold others')
    assert await engine.handle_events.execute() == 0, "a handled event is not taken again"

    [run] = await runs_of(engine, receipt.id)
    assert (run.trigger, run.input, run.idempotency_key) == (
        "event",
        {"amount": 250},
        f"event:{pay}",
    )


async def test_an_event_resumes_only_the_awaiting_run_it_matches(make_engine):
    engine = make_engine()
    order = await engine.add_workflow(ORDER)
    a = await engine.start(order.id, {"order_id": "A"})
    b = await engine.start(order.id, {"order_id": "B"})
    await engine.queue.drain(engine.execute_step.execute)

    await engine.publish_event.execute("order.paid", {"order_id": "B", "amount": 3}, fresh("e1"))
    await engine.handle_events.execute()

    assert (await engine.get_run.execute(a)).run.status is RunStatus.WAITING
    finished = await engine.get_run.execute(b)
    assert finished.run.status is RunStatus.SUCCEEDED
    assert finished.run.output == {"order_id": "B", "amount": 3}


async def test_an_event_published_before_the_run_waits_is_not_taken(make_engine):
    engine = make_engine()
    order = await engine.add_workflow(ORDER)
    run_id = await engine.start(order.id, {"order_id": "A"})  # queued at `reserve`
    await engine.publish_event.execute("order.paid", {"order_id": "A"}, fresh("early"))
    await engine.handle_events.execute()
    await engine.queue.drain(engine.execute_step.execute)
    assert (await engine.get_run.execute(run_id)).run.status is RunStatus.WAITING


async def test_events_stored_while_nothing_handles_them_are_handled_later_once(make_engine):
    """What a stored event survives: no handler for a while, a handler that dies holding it
    (its hold runs out and another takes it over); the run it concerns goes on once."""
    engine = make_engine()
    order = await engine.add_workflow(ORDER)
    run_id = await engine.start(order.id, {"order_id": "A"})
    await engine.queue.drain(engine.execute_step.execute)
    await engine.publish_event.execute("order.paid", {"order_id": "A"}, fresh("e1"))
    async with engine.unit_of_work() as uow:  # a handler takes it and dies
        held = await uow.published.claim(engine.clock.now(), engine.clock.now(), 10)
        assert [e.name for e in held] == ["order.paid"]
        await uow.commit()
    engine.clock.advance(1)
    assert await engine.handle_events.execute() >= 1
    engine.clock.advance(61)
    async with engine.unit_of_work() as uow:  # handled: nobody takes it again
        assert await uow.published.claim(engine.clock.now(), engine.clock.now(), 10) == []
    details = await engine.settle(run_id)
    assert details.run.status is RunStatus.SUCCEEDED
    received = [e for e in details.history if type(e).__name__ == "SignalReceived"]
    assert len(received) == 1


async def test_only_the_runs_an_event_matches_are_written(make_engine):
    """Handling reads every awaiting run but writes only those the match holds for: its
    cost in transactions does not grow with the runs that wait for something else."""
    engine = make_engine()
    order = await engine.add_workflow(ORDER)
    for name in ("A", "B", "C", "D", "E"):
        await engine.start(order.id, {"order_id": name})
    await engine.queue.drain(engine.execute_step.execute)
    await engine.publish_event.execute("order.paid", {"order_id": "C"}, fresh("one"))

    before = engine.commits[0]
    await engine.handle_events.execute()

    assert engine.commits[0] - before == 3  # the claim, the one run it matched, handled
    statuses = sorted(run.status for run in await runs_of(engine, order.id))
    assert statuses.count(RunStatus.SUCCEEDED) == 1


async def test_a_handled_event_is_forgotten_after_its_retention(make_engine):
    engine = make_engine()
    event_id = fresh("old")
    await engine.publish_event.execute("order.paid", {"order_id": "Z"}, event_id)
    await engine.handle_events.execute()
    engine.clock.advance(8 * 86400)  # past the 7 days, and past the next pruning's turn
    await engine.handle_events.execute()
    async with engine.unit_of_work() as uow:
        assert await uow.published.get(event_id) is None
    again = await engine.publish_event.execute("order.paid", {"order_id": "Z"}, event_id)
    assert again.duplicate is False

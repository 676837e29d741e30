"""Callers holding for a run's end are capped per process, and each gives its place back.

A place is freed when the run ends, when the wait times out, when the caller leaves and
when the wait is cancelled: otherwise the cap would fill up and refuse everybody for good.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.application.conftest import task, workflow
from wfa.application.use_cases.follow_run import AwaitRunEnd, WaiterLimit
from wfa.domain.run import RunStatus

PAUSE = {"id": "pause", "type": "wait", "seconds": 10}


@pytest.fixture
async def paused(make_engine):
    """An engine, a run held at its wait step, and an AwaitRunEnd with a cap of 2."""
    engine = make_engine()
    wf = await engine.add_workflow(workflow(PAUSE, task("a")))
    run_id = await engine.start(wf.id)
    waiters = WaiterLimit(2)
    return engine, run_id, waiters, AwaitRunEnd(engine.unit_of_work, engine.events, waiters=waiters)


async def settled(waiters: WaiterLimit, holding: int) -> None:
    async with asyncio.timeout(5):
        while True:  # polled: the limit has nothing to wake a test with, and needs none
            if waiters.holding == holding:
                return
            await asyncio.sleep(0.005)


async def test_past_the_cap_a_caller_is_answered_at_once_and_counted(paused):
    engine, run_id, waiters, awaiting = paused
    holders = [asyncio.create_task(awaiting.within(run_id, 30)) for _ in range(2)]
    await settled(waiters, 2)
    async with asyncio.timeout(0.5):
        assert await awaiting.within(run_id, 30) is None  # the third does not wait
    assert (waiters.holding, waiters.refused) == (2, 1)
    await engine.settle(run_id)
    runs = await asyncio.gather(*holders)
    assert [run.status for run in runs] == [RunStatus.SUCCEEDED] * 2
    assert waiters.holding == 0, "the end gives the places back"


async def test_a_timeout_gives_the_place_back(paused):
    _, run_id, waiters, awaiting = paused
    assert await awaiting.within(run_id, 0.05) is None
    assert waiters.holding == 0
    assert waiters.refused == 0


async def test_a_caller_who_leaves_gives_the_place_back_before_the_timeout(paused):
    _, run_id, waiters, awaiting = paused
    left = asyncio.Event()
    holder = asyncio.create_task(awaiting.within(run_id, 30, left.wait))
    await settled(waiters, 1)
    left.set()
    async with asyncio.timeout(1):
        assert await holder is None
    assert waiters.holding == 0


async def test_a_cancelled_wait_gives_the_place_back(paused):
    _, run_id, waiters, awaiting = paused
    holder = asyncio.create_task(awaiting.within(run_id, 30))
    await settled(waiters, 1)
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    assert waiters.holding == 0


async def test_a_cap_of_zero_never_holds(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a")))
    waiters = WaiterLimit(0)
    awaiting = AwaitRunEnd(engine.unit_of_work, engine.events, waiters=waiters)
    assert await awaiting.within(details.run.id, 30) is None
    assert waiters.refused == 1


async def test_an_ended_run_is_returned_within_the_wait(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a", "set", params={"x": 1})))
    run = await AwaitRunEnd(engine.unit_of_work, engine.events).within(details.run.id, 5)
    assert run is not None
    assert run.output == {"x": 1}

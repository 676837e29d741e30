"""Following a run: stored history first, then live events, in order, until it ends."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.delegating import DelegatingUnitOfWork
from tests.unit.application.conftest import task, workflow
from wfa.application.errors import NotFound
from wfa.application.use_cases import follow_run
from wfa.application.use_cases.follow_run import AwaitRunEnd, FollowRun
from wfa.domain.events import RunSucceeded
from wfa.domain.run import RunStatus


class HistoryReadSpy(DelegatingUnitOfWork):
    """A unit of work that notes each history read: after which seq, and how many at most."""

    def __init__(self, inner: Any, reads: list[tuple[int, int | None]]) -> None:
        super().__init__(inner)
        self._reads = reads

    @property
    def runs(self) -> Any:
        runs, reads = self._inner.runs, self._reads

        class Runs:
            def __getattr__(self, name: str) -> Any:
                return getattr(runs, name)

            async def history(
                self, run_id: str, after_seq: int = 0, limit: int | None = None
            ) -> Any:
                reads.append((after_seq, limit))
                return await runs.history(run_id, after_seq, limit)

        return Runs()


async def collect(iterator):
    async with asyncio.timeout(5):
        return [event async for event in iterator]


async def test_a_finished_run_is_told_from_its_history_and_the_stream_ends(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a"), task("b")))
    follow = FollowRun(engine.unit_of_work, engine.events)
    assert await collect(follow.execute(details.run.id)) == details.history
    assert await collect(follow.execute(details.run.id, after_seq=details.run.seq)) == []
    tail = await collect(follow.execute(details.run.id, after_seq=3))
    assert tail == details.history[3:]


async def test_a_long_history_is_read_a_page_at_a_time(make_engine, monkeypatch):
    monkeypatch.setattr(follow_run, "HISTORY_PAGE", 4)
    engine = make_engine()
    details = await engine.run_once(workflow(task("a"), task("b"), task("c")))  # 12 events
    reads: list[tuple[int, int | None]] = []
    inner = engine.unit_of_work
    follow = FollowRun(lambda: HistoryReadSpy(inner(), reads), engine.events)
    assert details.run.seq == 12
    assert await collect(follow.execute(details.run.id)) == details.history
    assert reads == [(0, 4), (4, 4), (8, 4)]  # the last page holds run.succeeded: it ends
    assert await collect(follow.execute(details.run.id, after_seq=5)) == details.history[5:]


async def test_a_live_run_is_followed_to_its_end_without_gaps_or_repeats(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a"), task("b"))
    )
    run_id = await engine.start(wf.id)
    follow = FollowRun(engine.unit_of_work, engine.events)
    followed = asyncio.create_task(collect(follow.execute(run_id)))
    await asyncio.sleep(0.01)
    details = await engine.settle(run_id)
    events = await followed
    assert events == details.history
    assert isinstance(events[-1], RunSucceeded)


async def test_events_the_feed_missed_are_filled_in_from_the_history(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a"))
    )
    run_id = await engine.start(wf.id)

    class Lossy:
        """A feed that drops every other event, as a slow follower on a busy bus would."""

        def follow(self, run_id):
            return _lossy(engine.events.follow(run_id))

    followed = asyncio.create_task(collect(FollowRun(engine.unit_of_work, Lossy()).execute(run_id)))
    await asyncio.sleep(0.01)
    details = await engine.settle(run_id)
    assert await followed == details.history


async def test_a_slow_follower_holds_a_bounded_backlog_and_still_misses_nothing(
    make_engine, monkeypatch
):
    monkeypatch.setattr(follow_run, "LIVE_BACKLOG", 2)
    held: list[int] = []
    real_queue = asyncio.Queue

    def watched_queue(maxsize: int = 0) -> asyncio.Queue[Any]:
        held.append(maxsize)
        return real_queue(maxsize)

    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, *(task(f"t{n}") for n in range(8)))
    )
    run_id = await engine.start(wf.id)
    follow = FollowRun(engine.unit_of_work, engine.events).execute(run_id)
    monkeypatch.setattr(follow_run.asyncio, "Queue", watched_queue)
    first = await anext(follow)  # live now; then the follower stops reading
    details = await engine.settle(run_id)  # 30-odd events pass while nobody reads
    rest = await collect(follow)
    assert [first, *rest] == details.history
    assert held[-1] == 2  # the follower's live backlog was bounded (after the feed's own)


async def test_following_an_unknown_run_is_not_found(make_engine):
    engine = make_engine()
    with pytest.raises(NotFound):
        await collect(FollowRun(engine.unit_of_work, engine.events).execute("missing"))


class _lossy:
    def __init__(self, inner):
        self._inner = inner

    async def __aenter__(self):
        events = await self._inner.__aenter__()

        async def every_other():
            index = 0
            async for event in events:
                index += 1
                if index % 2 == 0 or isinstance(event, RunSucceeded):
                    yield event

        return every_other()

    async def __aexit__(self, *exc_info):
        return await self._inner.__aexit__(*exc_info)


async def test_a_lost_last_event_still_arrives_from_the_history(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a"))
    )
    run_id = await engine.start(wf.id)

    class Silent:
        """A feed that delivers nothing at all: only rereading the history can finish."""

        def follow(self, run_id):
            return _silent()

    follow = FollowRun(engine.unit_of_work, Silent(), recheck_after=0.05)
    followed = asyncio.create_task(collect(follow.execute(run_id)))
    await asyncio.sleep(0.01)
    details = await engine.settle(run_id)
    assert await followed == details.history


class _silent:
    async def __aenter__(self):
        async def nothing():
            await asyncio.Event().wait()
            yield  # pragma: no cover

        return nothing()

    async def __aexit__(self, *exc_info):
        return None


async def test_a_position_past_the_history_of_a_live_run_still_ends_with_the_run(make_engine):
    engine = make_engine()
    pause = {"id": "pause", "type": "wait", "seconds": 10}
    wf = await engine.add_workflow(workflow(pause, task("a")))
    run_id = await engine.start(wf.id)
    follow = FollowRun(engine.unit_of_work, engine.events)
    followed = asyncio.create_task(collect(follow.execute(run_id, after_seq=10**6)))
    await asyncio.sleep(0.01)
    details = await engine.settle(run_id)
    events = await followed
    assert events, "the run's later events arrive"
    assert events == details.history[-len(events) :]
    assert isinstance(events[-1], RunSucceeded)


async def ended(awaiting):
    async with asyncio.timeout(5):
        return await awaiting


async def test_awaiting_an_ended_run_returns_it_at_once(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow(task("a", "set", params={"x": 1})))
    run = await ended(AwaitRunEnd(engine.unit_of_work, engine.events).execute(details.run.id))
    assert run.status is RunStatus.SUCCEEDED
    assert run.output == {"x": 1}


async def test_awaiting_a_live_run_returns_it_when_it_ends(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a", "fail"))
    )
    run_id = await engine.start(wf.id)
    awaited = asyncio.create_task(
        ended(AwaitRunEnd(engine.unit_of_work, engine.events).execute(run_id))
    )
    await asyncio.sleep(0.01)
    assert not awaited.done()
    details = await engine.settle(run_id)
    run = await awaited
    assert run.status is RunStatus.FAILED
    assert run.error == details.run.error


async def test_an_end_the_feed_lost_is_found_by_reading_the_run_again(make_engine):
    engine = make_engine()
    wf = await engine.add_workflow(
        workflow({"id": "pause", "type": "wait", "seconds": 10}, task("a"))
    )
    run_id = await engine.start(wf.id)

    class Silent:
        def follow(self, run_id):
            return _silent()

    waiting = AwaitRunEnd(engine.unit_of_work, Silent(), recheck_after=0.05)
    awaited = asyncio.create_task(ended(waiting.execute(run_id)))
    await asyncio.sleep(0.01)
    await engine.settle(run_id)
    assert (await awaited).status is RunStatus.SUCCEEDED


async def test_awaiting_an_unknown_run_is_not_found(make_engine):
    engine = make_engine()
    with pytest.raises(NotFound):
        await ended(AwaitRunEnd(engine.unit_of_work, engine.events).execute("missing"))

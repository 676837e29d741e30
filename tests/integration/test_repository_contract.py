"""The unit-of-work / repository contract, the same for every persistence adapter."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from wfa.application.errors import ConcurrencyConflict, DuplicateRun, StoreRefused
from wfa.application.paging import InvalidCursor
from wfa.application.ports.repositories import RunFilter
from wfa.domain import machine
from wfa.domain.commands import BeginAttempt, Cancel, Create, ExtendLease, Start
from wfa.domain.events import Event, ParentLink
from wfa.domain.progress import Decision
from wfa.domain.run import RunStatus
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
DEFINITION = parse_definition(
    {"name": "contract", "steps": [{"id": "a", "type": "task", "action": "noop"}]}
)


def workflow(workflow_id: str = "wf-1", version: int = 1) -> Workflow:
    return Workflow(id=workflow_id, version=version, definition=DEFINITION, created_at=T0)


def new_run(run_id: str, at: datetime = T0, key: str | None = None, wf: str = "wf-1") -> Decision:
    created = machine.create(
        Create(run_id=run_id, workflow_id=wf, workflow_version=1, idempotency_key=key), at
    )
    started = machine.decide(DEFINITION, created.run, Start(), at)
    return Decision(run=started.run, events=created.events + started.events, jobs=started.jobs)


async def store_run(uow_factory, decision: Decision) -> None:
    async with uow_factory() as uow:
        await uow.runs.add(decision.run, decision.events)
        await uow.commit()


async def test_a_stored_run_reads_back_equal_with_its_history(uow_factory):
    decision = new_run("r1")
    await store_run(uow_factory, decision)
    async with uow_factory() as uow:
        assert await uow.runs.get("r1") == decision.run
        assert await uow.runs.history("r1") == list(decision.events)
        assert await uow.runs.get("missing") is None


async def test_leaving_without_commit_keeps_nothing(uow_factory):
    async with uow_factory() as uow:
        await uow.runs.add(new_run("r1").run, new_run("r1").events)
        await uow.workflows.add(workflow())
    async with uow_factory() as uow:
        assert await uow.runs.get("r1") is None
        assert await uow.workflows.get("wf-1") is None


async def test_save_appends_history_and_refuses_a_stale_version(uow_factory):
    first = new_run("r1")
    await store_run(uow_factory, first)
    claim = machine.decide(DEFINITION, first.run, BeginAttempt(step_id="a", attempt=1), T0)
    async with uow_factory() as uow:
        await uow.runs.save(claim.run, claim.events, expected_seq=first.run.seq)
        await uow.commit()
    stale = machine.decide(DEFINITION, first.run, Cancel(), T0)
    async with uow_factory() as uow:
        with pytest.raises(ConcurrencyConflict):
            await uow.runs.save(stale.run, stale.events, expected_seq=first.run.seq)
    async with uow_factory() as uow:
        assert await uow.runs.get("r1") == claim.run
        history = await uow.runs.history("r1")
        assert [e.seq for e in history] == list(range(1, claim.run.seq + 1))
        assert await uow.runs.history("r1", after_seq=first.run.seq) == list(claim.events)


async def test_history_reads_a_page_by_seq(uow_factory):
    # A run of 11 events written over four transactions, beside another run.
    first = new_run("r1")
    await store_run(uow_factory, first)
    await store_run(uow_factory, new_run("r2"))
    run, events = first.run, list(first.events)
    commands = [[BeginAttempt(step_id="a", attempt=1)], [ExtendLease(step_id="a", attempt=1)] * 3]
    commands.append([ExtendLease(step_id="a", attempt=1)] * 4)
    for batch in commands:
        moved, expected = run, run.seq
        staged: list[Event] = []
        for command in batch:
            decision = machine.decide(DEFINITION, moved, command, T0)
            moved, staged = decision.run, [*staged, *decision.events]
        async with uow_factory() as uow:
            await uow.runs.save(moved, staged, expected_seq=expected)
            await uow.commit()
        run, events = moved, [*events, *staged]
    assert [event.seq for event in events] == list(range(1, 12))
    async with uow_factory() as uow:
        assert await uow.runs.history("r1", 0, limit=3) == events[:3]
        assert await uow.runs.history("r1", 3, limit=3) == events[3:6]
        assert await uow.runs.history("r1", 9, limit=5) == events[9:]
        assert await uow.runs.history("r1", 11, limit=5) == []
        assert await uow.runs.history("r1", 4) == events[4:]
        assert await uow.runs.history("r1", limit=1) == events[:1]
        assert await uow.runs.history("missing", 0, limit=5) == []


async def test_an_idempotency_key_names_one_run_per_workflow(uow_factory):
    await store_run(uow_factory, new_run("r1", key="k"))
    with pytest.raises(DuplicateRun):
        await store_run(uow_factory, new_run("r2", key="k"))
    await store_run(uow_factory, new_run("r3", key="k", wf="wf-2"))
    async with uow_factory() as uow:
        found = await uow.runs.by_idempotency_key("wf-1", "k")
        assert found is not None
        assert found.id == "r1"
        assert await uow.runs.by_idempotency_key("wf-1", "other") is None
        assert await uow.runs.get("r2") is None


async def test_due_lists_unfinished_runs_whose_timer_has_come_earliest_first(uow_factory):
    for index, run_id in enumerate(["late", "early", "done"]):
        await store_run(uow_factory, new_run(run_id, at=T0 + timedelta(seconds=10 - index)))
    async with uow_factory() as uow:
        done = await uow.runs.get("done")
        assert done is not None
        cancelled = machine.decide(DEFINITION, done, Cancel(), T0)
        await uow.runs.save(cancelled.run, cancelled.events, expected_seq=done.seq)
        await uow.commit()
    far = T0 + timedelta(hours=1)
    async with uow_factory() as uow:
        assert await uow.runs.due(T0, 10) == []
        assert await uow.runs.due(far, 10) == ["early", "late"]
        assert await uow.runs.due(far, 1) == ["early"]


async def test_next_wake_is_the_earliest_timer_still_to_come(uow_factory):
    for index, run_id in enumerate(["late", "early"]):
        await store_run(uow_factory, new_run(run_id, at=T0 + timedelta(seconds=10 - index)))
    async with uow_factory() as uow:
        early, late = await uow.runs.get("early"), await uow.runs.get("late")
        assert early is not None
        assert late is not None
        assert early.wake_at is not None
        assert late.wake_at is not None
        assert early.wake_at < late.wake_at
        assert await uow.runs.next_wake(T0) == early.wake_at
        # What is due already is the firing's business, not the wait's.
        assert await uow.runs.next_wake(early.wake_at) == late.wake_at
        assert await uow.runs.next_wake(late.wake_at) is None


async def test_runs_page_newest_first_with_filters_and_cursor(uow_factory):
    for index in range(5):
        await store_run(uow_factory, new_run(f"r{index}", at=T0 + timedelta(seconds=index)))
    await store_run(uow_factory, new_run("other", at=T0, wf="wf-2"))
    async with uow_factory() as uow:
        first = await uow.runs.page(RunFilter(workflow_id="wf-1"), limit=3)
        assert [r.id for r in first.runs] == ["r4", "r3", "r2"]
        rest = await uow.runs.page(RunFilter(workflow_id="wf-1"), limit=3, cursor=first.next_cursor)
        assert [r.id for r in rest.runs] == ["r1", "r0"]
        assert rest.next_cursor is None
        running = await uow.runs.page(RunFilter(status=RunStatus.RUNNING), limit=10)
        assert len(running.runs) == 6
        assert (await uow.runs.page(RunFilter(status=RunStatus.FAILED), limit=10)).runs == []
        window = RunFilter(
            created_after=T0 + timedelta(seconds=1), created_before=T0 + timedelta(seconds=4)
        )
        inside = await uow.runs.page(window, limit=2)
        assert [r.id for r in inside.runs] == ["r3", "r2"]
        after = await uow.runs.page(window, limit=2, cursor=inside.next_cursor)
        assert [r.id for r in after.runs] == ["r1"]


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "é",
        _cursor(["x", "y"]),  # a pair, but not a time
        _cursor([1, 2]),
        _cursor(["2030-01-01T00:00:00+00:00"]),
        _cursor({"a": 1}),
        _cursor(["2030-01-01T00:00:00+00:00", "r\u0000"]),  # PostgreSQL refuses NUL in text
        _cursor(["2020-01-01T00:00:00", "r"]),  # a time without its zone: the store refuses it
        _cursor(["0001-01-01T00:00:00+01:00", "r"]),  # before the first instant in UTC
        _cursor(["9999-12-31T23:59:59-01:00", "r"]),  # after the last
        "A" * 10_000,
    ],
)
async def test_a_cursor_that_no_page_gave_is_refused_by_every_store(uow_factory, cursor):
    async with uow_factory() as uow:
        with pytest.raises(InvalidCursor):
            await uow.runs.page(RunFilter(), limit=3, cursor=cursor)


async def test_a_value_postgresql_cannot_keep_is_the_named_store_refused(uow_factory, request):
    """What the engine lets through is never such a value; if one slips by, the store says
    so with StoreRefused (the engine then fails the attempt), not a driver error."""
    if request.node.callspec.params["uow_factory"] != "postgres":
        pytest.skip("only PostgreSQL refuses NUL in JSONB text")
    decision = new_run("r1")
    await store_run(uow_factory, decision)
    cancelled = machine.decide(DEFINITION, decision.run, Cancel(reason="a\x00b"), T0)
    async with uow_factory() as uow:
        with pytest.raises(StoreRefused, match="the store refused the data"):
            await uow.runs.save(cancelled.run, cancelled.events, decision.run.seq)
    async with uow_factory() as uow:
        stored = await uow.runs.get("r1")
    assert stored == decision.run, "nothing of the refused write was kept"


async def test_workflow_versions_are_kept_and_the_latest_is_served(uow_factory):
    async with uow_factory() as uow:
        await uow.workflows.add(workflow("wf-1", 1))
        await uow.workflows.add(workflow("wf-2", 1))
        await uow.commit()
    async with uow_factory() as uow:
        await uow.workflows.add(workflow("wf-1", 2))
        await uow.commit()
    async with uow_factory() as uow:
        latest = await uow.workflows.get("wf-1")
        assert latest is not None
        assert latest.version == 2
        assert latest.definition == DEFINITION
        assert (await uow.workflows.get("wf-1", 1)) == workflow("wf-1", 1)
        assert [w.id for w in await uow.workflows.latest(10)] == ["wf-1", "wf-2"]
        assert [w.id for w in await uow.workflows.latest(10, after="wf-1")] == ["wf-2"]
        assert await uow.workflows.delete("wf-1")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.workflows.get("wf-1") is None
        assert await uow.workflows.get("wf-1", 2) is not None, "runs still need their version"
        assert [w.id for w in await uow.workflows.latest(10)] == ["wf-2"]
        assert not await uow.workflows.delete("wf-1")


async def finish(uow_factory, run_id: str, at: datetime) -> None:
    async with uow_factory() as uow:
        run = await uow.runs.get(run_id)
        assert run is not None
        cancelled = machine.decide(DEFINITION, run, Cancel(), at)
        await uow.runs.save(cancelled.run, cancelled.events, expected_seq=run.seq)
        await uow.commit()


async def test_prune_removes_finished_runs_by_age_or_count_and_never_unfinished_ones(uow_factory):
    for index in range(4):
        await store_run(uow_factory, new_run(f"done{index}", key=f"k{index}"))
        await finish(uow_factory, f"done{index}", T0 + timedelta(days=index))
    await store_run(uow_factory, new_run("open"))
    async with uow_factory() as uow:
        assert await uow.runs.prune(T0 + timedelta(days=1, hours=1), None, limit=10) == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.get("done0") is None
        assert await uow.runs.history("done1") == []
        assert await uow.runs.get("done2") is not None
        assert await uow.runs.by_idempotency_key("wf-1", "k0") is None
        assert await uow.runs.prune(None, 1, limit=10) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.get("done2") is None
        assert await uow.runs.get("done3") is not None, "the newest finished run is kept"
        assert await uow.runs.get("open") is not None
        assert await uow.runs.prune(T0 + timedelta(days=365), None, limit=10) == 1
        assert await uow.runs.prune(None, 0, limit=10) == 0


def child_of(parent: str, index: int, scope: str | None = "each") -> Decision:
    link = ParentLink(run_id=parent, step_id="each", attempt=1, index=index, kind="iteration")
    command = Create(
        run_id=f"{parent}-c{index}",
        workflow_id="wf-1",
        workflow_version=1,
        parent=link,
        scope=scope,
        item=index,
        depth=1,
    )
    return machine.create(command, T0 + timedelta(seconds=index))


async def test_children_are_stored_together_and_read_back_by_index_a_page_at_a_time(uow_factory):
    await store_run(uow_factory, new_run("p"))
    children = [child_of("p", i) for i in (2, 0, 1, 3)]
    async with uow_factory() as uow:
        await uow.runs.add_many([(c.run, c.events) for c in children])
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.runs.children("p", "each", 1)
        assert [run.parent.index for run in found if run.parent] == [0, 1, 2, 3]
        assert found[0] == child_of("p", 0).run
        page = await uow.runs.children("p", "each", 1, after_index=1, limit=1)
        assert [run.id for run in page] == ["p-c2"]
        assert await uow.runs.children("p", "each", 2) == []
        assert await uow.runs.history("p-c3") == list(child_of("p", 3).events)
        listed = await uow.runs.page(RunFilter(), limit=10)
        assert [run.id for run in listed.runs] == ["p"]  # iterations are not listed


async def test_a_child_id_taken_refuses_the_whole_batch(uow_factory):
    await store_run(uow_factory, new_run("p"))
    first = child_of("p", 0)
    async with uow_factory() as uow:
        await uow.runs.add_many([(first.run, first.events)])
        await uow.commit()
    again = [child_of("p", 1), first]

    async def add_again() -> None:
        async with uow_factory() as uow:
            await uow.runs.add_many([(c.run, c.events) for c in again])
            await uow.commit()

    with pytest.raises(ConcurrencyConflict):
        await add_again()
    async with uow_factory() as uow:
        assert await uow.runs.get("p-c1") is None


async def test_prune_takes_a_finished_run_with_every_run_under_it_and_never_a_child_alone(
    uow_factory,
):
    root = new_run("root")
    await store_run(uow_factory, root)
    kids = [child_of("root", i) for i in range(3)]
    grandchild = child_of("root-c0", 0)
    async with uow_factory() as uow:
        await uow.runs.add_many([(c.run, c.events) for c in [*kids, grandchild]])
        await uow.commit()
    async with uow_factory() as uow:
        for child in kids:  # the children end; their parent has not
            cancel = machine.decide(DEFINITION, child.run, Cancel(by_parent=True), T0)
            await uow.runs.save(cancel.run, cancel.events, expected_seq=child.run.seq)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.prune(None, keep=0, limit=10) == 0
        await uow.commit()
    async with uow_factory() as uow:
        current = await uow.runs.get("root")
        assert current is not None
        ended = machine.decide(DEFINITION, current, Cancel(), T0)
        await uow.runs.save(ended.run, ended.events, expected_seq=current.seq)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.prune(None, keep=0, limit=10) == 1
        await uow.commit()
    async with uow_factory() as uow:
        for run_id in ("root", "root-c0", "root-c1", "root-c2", "root-c0-c0"):
            assert await uow.runs.get(run_id) is None, run_id


async def test_workflows_are_found_by_name_among_live_ones(uow_factory):
    async with uow_factory() as uow:
        await uow.workflows.add(workflow("wf-a"))
        await uow.workflows.add(workflow("wf-b"))
        await uow.commit()
    async with uow_factory() as uow:
        assert [w.id for w in await uow.workflows.by_name("contract", limit=5)] == ["wf-a", "wf-b"]
        assert [w.id for w in await uow.workflows.by_name("contract", limit=1)] == ["wf-a"]
        assert await uow.workflows.by_name("other", limit=5) == []
        await uow.workflows.delete("wf-a")
        await uow.commit()
    async with uow_factory() as uow:
        assert [w.id for w in await uow.workflows.by_name("contract", limit=5)] == ["wf-b"]

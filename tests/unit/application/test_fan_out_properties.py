"""Property tests of runs with parallel and map steps: a family of runs under hostile delivery.

A ``RuleBasedStateMachine`` drives the real transitions (domain and the family's follow-ups)
on the memory store the way workers and timers may: any queued job taken in any order,
succeeding or failing, delivered twice, lost (its worker dies holding it), a clock that
jumps to the next timer, a cancel at any moment. After every step every run in the store is
checked against oracles written here: each history replays to its state, each fan's counts
match what its children did, no map runs more than ``max_concurrency`` iterations, a join
happens once per attempt and only when all of its children ended, and a cancelled run
leaves no descendant unfinished, and the error workflow (some roots name one) starts exactly
one run per failure of a run, however often jobs come again. At the end the family is driven
to its end and nothing may be left unfinished anywhere.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from wfa.adapters.clock import FakeClock, SeededEntropy
from wfa.adapters.events.memory import InMemoryEventPublisher
from wfa.adapters.persistence.memory import MemoryStore
from wfa.adapters.queue.memory import InMemoryJobQueue
from wfa.application.run_transitions import RunTransitions
from wfa.application.use_cases.fire_due_timers import FireDueTimers
from wfa.application.use_cases.start_run import StartRun, StartRunRequest
from wfa.domain.commands import BeginAttempt, Cancel, CompleteAttempt, FailAttempt, Resume
from wfa.domain.errors import IllegalTransition
from wfa.domain.events import (
    AttemptScheduled,
    AttemptSucceeded,
    ErrorInfo,
    FanOpened,
    RunFailed,
    RunResumed,
)
from wfa.domain.progress import EngineSettings, Job
from wfa.domain.run import Run, RunStatus, replay
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SETTINGS = EngineSettings(lease=30.0, redeliver_after=10.0)


def _task(step_id: str, retries: int, timeout: float | None) -> dict[str, Any]:
    step: dict[str, Any] = {"id": step_id, "type": "task", "action": "work"}
    step["params"] = {"item": "{{ item }}"}
    step["retry"] = {"max_attempts": retries, "initial_interval": 1, "retry_on": ["*"]}
    if timeout is not None:
        step["timeout"] = timeout
    return step


@st.composite
def step_lists(draw: st.DrawFn, prefix: str, depth: int) -> list[dict[str, Any]]:
    """One or two steps; at the top levels, one of them may be a parallel or a map."""
    steps: list[dict[str, Any]] = []
    for position in range(draw(st.integers(1, 2))):
        step_id = f"{prefix}{position}"
        kind = draw(st.sampled_from(["task", "task", "parallel", "map"] if depth < 2 else ["task"]))
        if kind == "task":
            timeout = draw(st.sampled_from([None, None, 5.0]))
            steps.append(_task(step_id, draw(st.integers(1, 2)), timeout))
        elif kind == "parallel":
            branches = [
                {"name": f"b{i}", "steps": draw(step_lists(f"{step_id}b{i}_", depth + 1))}
                for i in range(draw(st.integers(1, 3)))
            ]
            step = {"id": step_id, "type": "parallel", "branches": branches}
            if draw(st.booleans()):
                step["on_branch_failure"] = "continue"
            steps.append(step)
        else:
            steps.append(
                {
                    "id": step_id,
                    "type": "map",
                    "items": "{{ input.items }}",
                    "steps": draw(step_lists(f"{step_id}i_", depth + 1)),
                    "max_concurrency": draw(st.integers(1, 3)),
                    "tolerated_failures": draw(st.sampled_from([0, 1, "50%", "100%"])),
                }
            )
    if draw(st.booleans()):  # a catch on the last step, so a failed fan may be handled
        steps[-1]["catch"] = [{"errors": ["*"], "next": f"{prefix}caught"}]
        steps.append({"id": f"{prefix}caught", "type": "succeed"})
    return steps


class Family(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.store = MemoryStore()
        self.clock = FakeClock(T0)
        self.queue = InMemoryJobQueue()
        self.transitions = RunTransitions(
            self.store.unit_of_work,
            self.queue,
            InMemoryEventPublisher(),
            self.clock,
            SETTINGS,
        )
        self.timers = FireDueTimers(
            self.store.unit_of_work, self.transitions, self.clock, SeededEntropy(1)
        )
        self.jobs: list[Job] = []
        self.held: list[Job] = []  # begun by a worker that never reports back
        self.cancelled: set[str] = set()
        self.resumed = False

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.loop.close()

    # -- set-up -------------------------------------------------------------------------------

    @initialize(
        steps=step_lists("s", 0),
        items=st.lists(st.integers(0, 99), max_size=5),
        alarm=st.booleans(),
    )
    def start(self, steps: list[dict[str, Any]], items: list[int], alarm: bool) -> None:
        raw: dict[str, Any] = {"name": "family", "steps": steps}
        if alarm:
            raw["on_failure"] = {"workflow": "report"}
        definition = parse_definition(raw)
        self._definition = definition
        self.items = items
        workflow = Workflow(id="wf", version=1, definition=definition, created_at=T0)
        report = parse_definition({"name": "report", "steps": [_task("tell", 1, None)]})

        async def go() -> str:
            async with self.store.unit_of_work() as uow:
                await uow.workflows.add(workflow)
                await uow.workflows.add(
                    Workflow(id="report", version=1, definition=report, created_at=T0)
                )
                await uow.commit()
            start = StartRun(
                self.store.unit_of_work, self.transitions, self.clock, SeededEntropy(2)
            )
            started = await start.execute(StartRunRequest(workflow_id="wf", input={"items": items}))
            return started.run_id

        self.root = self.run(go())
        self._collect()

    def _collect(self) -> None:
        while (job := self.queue.take()) is not None:
            self.jobs.append(job)

    # -- what workers, timers and clients do ----------------------------------------------

    @rule(pick=st.integers(0, 50), succeed=st.booleans(), twice=st.booleans())
    def work(self, pick: int, succeed: bool, twice: bool) -> None:
        if not self.jobs:
            return
        job = self.jobs.pop(pick % len(self.jobs))
        for _ in range(2 if twice else 1):
            self._perform(job, succeed)
        self._collect()

    def _perform(self, job: Job, succeed: bool) -> None:
        begin = BeginAttempt(step_id=job.step_id, attempt=job.attempt)
        claimed = self.run(self.transitions.apply(job.run_id, begin))
        if claimed.decision.ignored:
            return
        run = claimed.run
        if succeed:
            outcome: Any = CompleteAttempt(
                step_id=job.step_id, attempt=job.attempt, output={"item": run.item}
            )
        else:
            error = ErrorInfo(error="boom", message="scripted")
            outcome = FailAttempt(step_id=job.step_id, attempt=job.attempt, error=error)
        self.run(self.transitions.apply(job.run_id, outcome))

    @rule(pick=st.integers(0, 50))
    def worker_dies_holding_a_job(self, pick: int) -> None:
        if not self.jobs:
            return
        job = self.jobs.pop(pick % len(self.jobs))
        begin = BeginAttempt(step_id=job.step_id, attempt=job.attempt)
        self.run(self.transitions.apply(job.run_id, begin))
        self._collect()

    @rule(pick=st.integers(0, 50))
    def a_job_is_lost(self, pick: int) -> None:
        if self.jobs:
            self.jobs.pop(pick % len(self.jobs))

    @rule()
    def time_passes_to_the_next_timer(self) -> None:
        wakes = [run.wake_at for run in self.store.runs.values() if run.wake_at is not None]
        if not wakes:
            return
        self.clock.set(max(min(wakes), self.clock.now()))
        self.run(self.timers.execute(limit=1000))
        self._collect()

    @rule(which=st.integers(0, 50))
    def someone_cancels_a_run(self, which: int) -> None:
        unfinished = sorted(r.id for r in self.store.runs.values() if not r.status.is_terminal)
        if not unfinished:
            return
        run_id = unfinished[which % len(unfinished)]
        try:
            self.run(self.transitions.apply(run_id, Cancel(reason="test")))
        except IllegalTransition:
            return
        self.cancelled.add(run_id)
        self._collect()

    @rule()
    def someone_retries_the_failed_run(self) -> None:
        if self.store.runs[self.root].status is not RunStatus.FAILED:
            return
        try:
            self.run(self.transitions.apply(self.root, Resume()))
        except IllegalTransition:
            return  # it failed at a fail step, or on its history budget
        self.resumed = True
        note_event("a failed run was resumed")
        self._collect()

    # -- oracles ------------------------------------------------------------------------------

    @invariant()
    def every_history_replays_to_its_state(self) -> None:
        for run_id, run in self.store.runs.items():
            assert replay(self.store.history[run_id]) == run

    @invariant()
    def fans_count_exactly_what_their_children_did(self) -> None:
        for run in self.store.runs.values():
            fan = run.fan
            if fan is None:
                continue
            children = self._children(run.id, fan.step_id, fan.attempt)
            assert len(children) == fan.total
            started = children[: fan.started]
            # Not started yet: pending, or carried over from the attempt a resume goes on
            # from (created ended, with two events).
            for child in children[fan.started :]:
                carried = len(self.store.history[child.id]) == 2
                assert child.status is RunStatus.PENDING or (
                    child.status is RunStatus.SUCCEEDED and carried
                )
            running = [c for c in started if not c.status.is_terminal]
            assert fan.running == len(running) <= fan.limit
            succeeded = [c for c in started if c.status is RunStatus.SUCCEEDED]
            assert fan.succeeded == len(succeeded)
            assert fan.failed == len(started) - len(running) - len(succeeded)
            if fan.tolerated >= 0:
                assert fan.failed <= fan.tolerated

    @invariant()
    def a_join_happens_once_and_only_when_every_child_ended(self) -> None:
        for run_id, history in self.store.history.items():
            opened = {(e.step_id, e.attempt) for e in history if isinstance(e, FanOpened)}
            joins = [
                (e.step_id, e.attempt)
                for e in history
                if isinstance(e, AttemptSucceeded) and (e.step_id, e.attempt) in opened
            ]
            assert len(joins) == len(set(joins))
            for step_id, attempt in joins:
                children = self._children(run_id, step_id, attempt)
                assert children
                assert all(c.status.is_terminal for c in children)

    @invariant()
    def each_run_visits_its_steps_in_list_order(self) -> None:
        # Generated lists only link forward (a catch to the list's last step), and a run
        # that is never resumed enters each step at most once, whatever the deliveries did.
        for run_id, history in self.store.history.items():
            run = self.store.runs[run_id]
            if any(isinstance(e, RunResumed) for e in history) or run.workflow_id != "wf":
                continue  # a resumed run enters its failed step again; the report is simple
            order = [step.id for step in self._definition.scoped(run.scope).steps]
            visits = [e.step_id for e in history if isinstance(e, AttemptScheduled)]
            entered = [step for i, step in enumerate(visits) if step not in visits[:i]]
            positions = [order.index(step) for step in entered]
            assert positions == sorted(positions), (run_id, visits)

    @invariant()
    def each_failure_starts_one_error_run(self) -> None:
        """Exactly one error-workflow run per ``run.failed`` of a run whose workflow names
        one (only the root's does; its branches and iterations do not), linked to it."""
        alarms: dict[str, list[int]] = {}
        for run in self.store.runs.values():
            if run.trigger == "on_failure":
                assert run.parent is not None
                assert run.workflow_id == "report"
                alarms.setdefault(run.parent.run_id, []).append(run.parent.attempt)
        for run_id, run in self.store.runs.items():
            failures = [e.seq for e in self.store.history[run_id] if isinstance(e, RunFailed)]
            named = run.scope is None and run.workflow_id == "wf"
            wanted = failures if named and self._definition.on_failure is not None else []
            assert sorted(alarms.get(run_id, [])) == wanted, run_id
            if wanted:
                note_event("an error workflow was started")

    @invariant()
    def a_cancelled_run_leaves_nothing_running_under_it(self) -> None:
        for run_id in self.cancelled:
            if self.store.runs[run_id].status is RunStatus.CANCELLED:
                assert all(r.status.is_terminal for r in self._descendants(run_id))

    @invariant()
    def a_finished_run_leaves_nothing_unfinished_under_it(self) -> None:
        for run in self.store.runs.values():
            if run.status.is_terminal and run.scope is None:
                assert all(r.status.is_terminal for r in self._descendants(run.id))

    def _children(self, run_id: str, step_id: str, attempt: int) -> list[Run]:
        ids = self.store.children.get((run_id, step_id, attempt), [])
        return sorted((self.store.runs[i] for i in ids), key=lambda r: r.parent.index)  # type: ignore[union-attr]

    def _descendants(self, run_id: str) -> list[Run]:
        found, level = [], [run_id]
        while level:
            below = [
                child
                for (parent, _, _), ids in self.store.children.items()
                if parent in level
                for child in ids
            ]
            found.extend(self.store.runs[i] for i in below)
            level = below
        return found

    def teardown_checks(self) -> None:
        """Deliver everything until the family ends: nothing may be left unfinished."""
        for _ in range(500):
            if self.jobs:
                self._perform(self.jobs.pop(0), succeed=True)
                self._collect()
                continue
            if all(r.status.is_terminal for r in self.store.runs.values()):
                break
            self.time_passes_to_the_next_timer()
        root = self.store.runs[self.root]
        assert root.status.is_terminal, root
        assert all(r.status.is_terminal for r in self.store.runs.values())
        if root.status is RunStatus.SUCCEEDED:
            self._outputs_keep_item_order(root)

    def _outputs_keep_item_order(self, root: Run) -> None:
        for run in self.store.runs.values():
            if run.status is not RunStatus.SUCCEEDED:
                continue
            for _step_id, output in run.outputs.items():
                if isinstance(output, list) and len(output) == len(self.items):
                    for i, entry in enumerate(output):
                        if (
                            isinstance(entry, dict)
                            and "item" in entry
                            and entry["item"] is not None
                        ):
                            assert entry["item"] == self.items[i]


class FamilyToTheEnd(Family):
    def teardown(self) -> None:
        try:
            self.teardown_checks()
        finally:
            super().teardown()


TestFanOutFamilies = FamilyToTheEnd.TestCase
TestFanOutFamilies.settings = settings(
    max_examples=600,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

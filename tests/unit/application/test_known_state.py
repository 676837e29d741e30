"""A worker records an attempt's outcome on the run as it stored it at the claim.

No read between the action and the write; a change made meanwhile by anyone else (a
cancel, a signal) fails the write's seq check, and the outcome is decided again on it.
"""

from __future__ import annotations

from typing import Any

from tests.delegating import DelegatingUnitOfWork
from tests.unit.application.conftest import task, workflow
from wfa.adapters.actions.builtin import builtin_actions
from wfa.adapters.actions.catalog import ActionRegistry
from wfa.adapters.clock import SystemClock
from wfa.application.ports.actions import ActionContext
from wfa.domain.events import AttemptLeaseExtended, AttemptStarted, AttemptSucceeded
from wfa.domain.progress import EngineSettings
from wfa.domain.run import RunStatus
from wfa.entrypoints.local import LocalEngine


class CancelsItsRun:
    """An action during which an operator cancels the run."""

    name = "cancels"
    params_type: Any = dict[str, Any]
    engine: LocalEngine

    async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
        await self.engine.cancel.execute(context.run_id, reason="stop")
        return {"done": True}


class ReadCounting(DelegatingUnitOfWork):
    def __init__(self, inner: Any, reads: list[str]) -> None:
        super().__init__(inner)
        self._reads = reads

    @property
    def runs(self) -> Any:
        inner, reads = self._inner.runs, self._reads

        class Runs:
            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

            async def get(self, run_id: str) -> Any:
                reads.append(run_id)
                return await inner.get(run_id)

        return Runs()


async def test_a_run_cancelled_while_its_action_runs_stays_cancelled(uow_factory):
    action = CancelsItsRun()
    registry = ActionRegistry([*builtin_actions(), action])
    engine = action.engine = LocalEngine.virtual(actions=registry, unit_of_work=uow_factory)
    flow = await engine.add_workflow(workflow(task("a", "cancels"), task("b")))
    details = await engine.settle(await engine.start(flow.id))
    assert details.run.status is RunStatus.CANCELLED
    assert [e.step_id for e in details.history if isinstance(e, AttemptStarted)] == ["a"]


async def test_a_chain_of_tasks_reads_its_run_once_however_many_steps_it_takes(uow_factory):
    reads: list[str] = []
    engine = LocalEngine.virtual(unit_of_work=lambda: ReadCounting(uow_factory(), reads))
    flow = await engine.add_workflow(workflow(*(task(f"s{n}") for n in range(5))))
    run_id = await engine.start(flow.id)
    job = engine.queue.take()
    assert job is not None
    reads.clear()
    await engine.execute_step.execute(job)
    assert reads == [run_id]  # the claim's: five outcomes and four claims on what it stored
    assert (await engine.get_run.execute(run_id)).run.status is RunStatus.SUCCEEDED


async def test_an_outcome_after_the_lease_was_extended_is_recorded_on_the_fresh_state(uow_factory):
    # The state the worker stored at the claim is stale once its lease is extended.
    engine = LocalEngine(
        clock=SystemClock(), unit_of_work=uow_factory, settings=EngineSettings(lease=1.0)
    )
    flow = await engine.add_workflow(
        workflow(task("slow", "sleep", params={"seconds": 0.5}), task("after"))
    )
    details = await engine.settle(await engine.start(flow.id))
    assert details.run.status is RunStatus.SUCCEEDED
    assert any(isinstance(e, AttemptLeaseExtended) for e in details.history)
    ends = [e.step_id for e in details.history if isinstance(e, AttemptSucceeded)]
    assert ends == ["slow", "after"]

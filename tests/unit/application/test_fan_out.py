"""Parallel, map and workflow steps run end to end on every store, as a user sees them."""

from __future__ import annotations

from typing import Any

from tests.unit.application.conftest import flaky, task, workflow
from wfa.application.ports.actions import ActionContext, ActionError
from wfa.domain.run import RunStatus


def parallel(
    step_id: str, *branches: tuple[str, list[dict[str, Any]]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "parallel",
        "branches": [{"name": name, "steps": steps} for name, steps in branches],
        **extra,
    }


def map_step(step_id: str, items: str, *steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "map", "items": items, "steps": list(steps), **extra}


async def test_a_parallel_step_joins_every_branch_output_by_name(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        workflow(
            parallel(
                "both",
                ("left", [task("l", "set", params={"side": "left", "n": "{{ input.n }}"})]),
                (
                    "right",
                    [
                        task("r1", "set", params={"x": 1}),
                        task("r2", "set", params={"y": "{{ steps.r1.output.x }}"}),
                    ],
                ),
            ),
            task("after", "set", params={"got": "{{ steps.both.output }}"}),
        ),
        input={"n": 3},
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == {"got": {"left": {"side": "left", "n": 3}, "right": {"y": 1}}}


async def test_a_map_runs_each_item_with_its_index_and_keeps_item_order(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        workflow(
            map_step(
                "each",
                "{{ input.items }}",
                task("double", "set", params={"i": "{{ index }}", "v": "{{ item }}"}),
                max_concurrency=2,
            ),
        ),
        input={"items": ["a", "b", "c", "d", "e"]},
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == [{"i": i, "v": v} for i, v in enumerate("abcde")]


async def test_a_map_never_runs_more_than_max_concurrency_iterations(make_engine):
    running = {"now": 0, "most": 0}
    engine = make_engine()

    import asyncio

    class Watch:
        name = "watch"
        params_type: Any = dict[str, Any]

        async def __call__(self, params: dict[str, Any], context: ActionContext) -> Any:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            await asyncio.sleep(0)
            running["now"] -= 1
            return params

    engine.actions.register(Watch())
    details = await engine.run_once(
        workflow(map_step("each", "{{ input }}", task("w", "watch"), max_concurrency=3)),
        input=list(range(20)),
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert len(details.run.output) == 20


async def test_a_failing_branch_fails_the_parallel_step_and_its_catch_sees_the_error(make_engine):
    engine = make_engine(broken=flaky(99, "boom"))
    details = await engine.run_once(
        workflow(
            parallel(
                "both",
                ("ok", [{"id": "w", "type": "wait", "seconds": 60}]),
                ("bad", [task("b", "broken", retry={"max_attempts": 1})]),
                catch=[{"errors": ["boom"], "next": "handled"}],
            ),
            {"id": "handled", "type": "succeed", "output": "{{ steps.both.error.error }}"},
        )
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == "boom"


async def test_continue_keeps_a_branch_failure_as_an_error_entry(make_engine):
    engine = make_engine(broken=flaky(99, "boom"))
    details = await engine.run_once(
        workflow(
            parallel(
                "both",
                ("ok", [task("a", "set", params={"v": 1})]),
                ("bad", [task("b", "broken", retry={"max_attempts": 1})]),
                on_branch_failure="continue",
            ),
        )
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output["ok"] == {"v": 1}
    assert details.run.output["bad"]["error"]["error"] == "boom"


async def test_tolerated_map_failures_leave_null_and_too_many_fail_the_step(make_engine):
    def odd_fails(call: int, context: ActionContext) -> Any:
        item = context.run_context["item"]
        return ActionError("odd", f"{item} is odd", retryable=False) if item % 2 else item

    engine = make_engine(even=odd_fails)
    tolerant = await engine.run_once(
        workflow(map_step("each", "{{ input }}", task("e", "even"), tolerated_failures="50%")),
        input=[0, 1, 2, 3],
    )
    assert tolerant.run.status is RunStatus.SUCCEEDED
    assert tolerant.run.output == [0, None, 2, None]
    strict = await engine.run_once(
        workflow(map_step("each", "{{ input }}", task("e", "even"), tolerated_failures=1)),
        input=[1, 3, 5, 7],
    )
    assert strict.run.status is RunStatus.FAILED
    assert strict.run.error is not None
    assert strict.run.error.error == "map.too_many_failures"
    assert strict.run.error.cause is not None
    assert strict.run.error.cause.error == "odd"


async def test_a_workflow_step_runs_another_workflow_by_name_and_takes_its_output(make_engine):
    engine = make_engine()
    await engine.add_workflow(
        workflow(task("charge", "set", params={"charged": "{{ input.amount }}"}), name="charge")
    )
    details = await engine.run_once(
        workflow(
            {
                "id": "pay",
                "type": "workflow",
                "workflow": "charge",
                "input": {"amount": "{{ input.total }}"},
            },
            name="order",
        ),
        input={"total": 12},
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == {"charged": 12}


async def test_a_workflow_that_calls_itself_stops_at_the_depth_limit(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        workflow({"id": "again", "type": "workflow", "workflow": "loop"}, name="loop")
    )
    assert details.run.status is RunStatus.FAILED
    error, depth = details.run.error, 0
    while error is not None and error.cause is not None:
        assert error.error == "workflow.failed"
        error, depth = error.cause, depth + 1
    assert error is not None
    assert error.error == "workflow.too_deep"
    assert depth == 10  # WFA_MAX_DEPTH: the tenth child may not start one more


async def test_an_unknown_workflow_fails_the_step_with_a_named_error(make_engine):
    engine = make_engine()
    details = await engine.run_once(workflow({"id": "x", "type": "workflow", "workflow": "nope"}))
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "workflow.not_found"


async def test_a_resumed_map_runs_only_the_iterations_that_failed(make_engine, scripted):
    broken = {"on": True}

    def fails_while_broken(call: int, context: ActionContext) -> Any:
        item = context.run_context["item"]
        if broken["on"] and item % 2:
            return ActionError("odd", f"{item} is odd", retryable=False)
        return {"item": item}

    engine = make_engine(work=fails_while_broken)
    details = await engine.run_once(
        workflow(
            map_step("each", "{{ input }}", task("w", "work"), tolerated_failures=1),
            task("after", "set", params={"all": "{{ steps.each.output }}"}),
        ),
        input=[0, 1, 2, 3, 4],
    )
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "map.too_many_failures"
    calls_before = [context.run_context["item"] for _, context in scripted["work"].calls]

    broken["on"] = False
    await engine.retry.execute(details.run.id)
    resumed = await engine.settle(details.run.id)
    assert resumed.run.status is RunStatus.SUCCEEDED
    assert resumed.run.output == {"all": [{"item": i} for i in range(5)]}
    calls_after = [context.run_context["item"] for _, context in scripted["work"].calls]
    again = calls_after[len(calls_before) :]
    succeeded_before = [i for i in calls_before if i % 2 == 0]
    assert sorted(again) == sorted(set(range(5)) - set(succeeded_before))


async def test_cancelling_a_run_cancels_its_branches_and_their_children(make_engine):
    engine = make_engine()
    workflow_ = await engine.add_workflow(
        workflow(
            parallel(
                "both",
                ("slow", [{"id": "w", "type": "wait", "seconds": 600}]),
                (
                    "deep",
                    [map_step("m", "{{ `[1, 2]` }}", {"id": "w2", "type": "wait", "seconds": 600})],
                ),
            )
        )
    )
    run_id = await engine.start(workflow_.id)
    await engine.queue.drain(engine.execute_step.execute)
    await engine.cancel.execute(run_id, "enough")
    family = await engine.family(run_id)
    assert family.details.run.status is RunStatus.CANCELLED
    branches = family.children["both#1"]
    assert [b.details.run.status for b in branches] == [RunStatus.CANCELLED] * 2
    iterations = branches[1].children["m#1"]
    assert [i.details.run.status for i in iterations] == [RunStatus.CANCELLED] * 2


async def test_iterations_copying_too_much_input_fail_the_step_with_fan_too_large(make_engine):
    engine = make_engine(max_payload_bytes=10_000)
    big = {"blob": "x" * 5_000}
    details = await engine.run_once(
        workflow(
            map_step("each", "{{ input.items }}", task("t", "set"), input="{{ input.blob }}"),
        ),
        input={"items": list(range(200)), **big},
    )
    assert details.run.status is RunStatus.FAILED
    assert details.run.error is not None
    assert details.run.error.error == "fan.too_large"
    assert "WFA_MAX_PAYLOAD_BYTES" in details.run.error.message
    small = await engine.run_once(
        workflow(
            map_step("each", "{{ input.items }}", task("t", "set", params={"i": "{{ index }}"}))
        ),
        input={"items": list(range(3)), **big},  # the parent's input is not copied by default
    )
    assert small.run.status is RunStatus.SUCCEEDED


async def test_a_sub_workflow_started_without_waiting_runs_on_after_its_parent_ends(make_engine):
    engine = make_engine()
    await engine.add_workflow(
        workflow({"id": "nap", "type": "wait", "seconds": 60}, task("done", "set"), name="slow")
    )
    details = await engine.run_once(
        workflow({"id": "fire", "type": "workflow", "workflow": "slow", "wait": False}, name="f")
    )
    assert details.run.status is RunStatus.SUCCEEDED
    child_id = details.run.output["run_id"]
    child = await engine.settle(child_id)
    assert child.run.status is RunStatus.SUCCEEDED  # not cancelled with its parent's step
    assert child.run.parent is not None
    assert child.run.parent.run_id == details.run.id


async def test_a_map_of_more_items_than_the_history_budget_still_succeeds(make_engine):
    engine = make_engine()
    details = await engine.run_once(
        {
            **workflow(
                map_step("each", "{{ input }}", task("t", "set", params={"i": "{{ index }}"}))
            ),
            "limits": {"max_events": 20},
        },
        input=list(range(30)),
    )
    assert details.run.status is RunStatus.SUCCEEDED
    assert details.run.output == [{"i": i} for i in range(30)]
    assert len(details.history) > 30  # a child_ended for each, past the budget: not charged


async def test_nested_fans_share_the_family_budget_evenly(make_engine):
    from wfa.domain.progress import EngineSettings

    engine = make_engine(settings=EngineSettings(max_family_runs=20))
    inner = map_step("inner", "{{ `[1, 2, 3, 4]` }}", task("t", "set"))
    outer = map_step("outer", "{{ input }}", inner)
    fits = await engine.run_once(workflow(outer), input=[1, 2, 3])  # 3 + 3 x 4 = 15 runs
    assert fits.run.status is RunStatus.SUCCEEDED
    # 4 children leave each (20 - 4) / 4 = 4 runs: the inner maps fit.
    exactly = await engine.run_once(workflow(outer), input=[1, 2, 3, 4])
    assert exactly.run.status is RunStatus.SUCCEEDED
    # 5 children leave each (20 - 5) / 5 = 3 runs: an inner map of 4 is refused.
    refused = await engine.run_once(workflow(outer), input=[1, 2, 3, 4, 5])
    assert refused.run.status is RunStatus.FAILED
    error = refused.run.error
    assert error is not None
    assert error.error == "map.too_many_failures"
    assert error.cause is not None
    assert error.cause.error == "fan.too_many_runs"
    assert "WFA_MAX_FAMILY_RUNS" in error.cause.message

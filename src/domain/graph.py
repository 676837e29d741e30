"""The definition as a graph of steps: where each step can go, what is reachable, what ends."""

from __future__ import annotations

from collections.abc import Iterator

from wfa.domain.definition import (
    ATTEMPTED_STEPS,
    END,
    ChoiceStep,
    Definition,
    FailStep,
    Step,
    SucceedStep,
    WaitStep,
)


def step_targets(step: Step) -> Iterator[tuple[str, str]]:
    """The step ids a step names explicitly, as ``(field path, target)``."""
    if isinstance(step, (WaitStep, *ATTEMPTED_STEPS)) and step.next is not None:
        yield "next", step.next
    if isinstance(step, ATTEMPTED_STEPS):
        for index, catch in enumerate(step.catch):
            yield f"catch[{index}].next", catch.next
    if isinstance(step, ChoiceStep):
        for index, choice in enumerate(step.choices):
            yield f"choices[{index}].next", choice.next
        if step.default is not None:
            yield "default", step.default


def successors(definition: Definition, step: Step) -> set[str]:
    """Every place the run can go after ``step``; END when the run can finish there."""
    if isinstance(step, SucceedStep | FailStep):
        return {END}
    if isinstance(step, ChoiceStep):
        targets = {target for _, target in step_targets(step)}
        return targets if step.default is not None else targets | {END}
    targets = {definition.following(step)}
    if isinstance(step, ATTEMPTED_STEPS):
        targets |= {catch.next for catch in step.catch}
    return targets


def unreachable_steps(definition: Definition) -> list[int]:
    """Positions of steps that no path from the first step reaches."""
    seen = {definition.start.id}
    frontier = [definition.start]
    while frontier:
        for target in successors(definition, frontier.pop()):
            if target != END and target not in seen:
                seen.add(target)
                frontier.append(definition.step(target))
    return [i for i, step in enumerate(definition.steps) if step.id not in seen]


def steps_that_never_end(definition: Definition) -> list[int]:
    """Positions of steps from which no path leads to an end: the run would loop forever.

    One walk backwards from END over reversed edges, so the check is linear in the steps and
    their links (a fixpoint over all steps was quadratic on a long chain).
    """
    leads_to: dict[str, list[str]] = {}
    for step in definition.steps:
        for target in successors(definition, step):
            leads_to.setdefault(target, []).append(step.id)
    ending = {END}
    frontier = [END]
    while frontier:
        for source in leads_to.get(frontier.pop(), ()):
            if source not in ending:
                ending.add(source)
                frontier.append(source)
    return [i for i, step in enumerate(definition.steps) if step.id not in ending]

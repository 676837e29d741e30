"""Where a definition's steps lead, for drawing it: its moves and each step's row.

A move is a line between two steps (or to the implicit end, or to the failure of a choice
that matches nothing), carrying every condition or catch that takes it. A step's rank is
the longest path of forward moves from the first step; moves that close a loop are found
by a depth-first walk and left out of the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wfa.domain.definition import (
    ATTEMPTED_STEPS,
    ChoiceStep,
    FailStep,
    MapStep,
    ParallelStep,
    Step,
    SucceedStep,
)

END_ID = "\0end"  # the implicit end after a last step
NO_MATCH_ID = "\0no-match"  # where a choice without a default goes when nothing matches


@dataclass
class Move:
    source: str
    target: str
    label: str = ""
    kind: str = "next"  # next | choice | catch


def moves(steps: Sequence[Step]) -> list[Move]:
    ids = [step.id for step in steps]
    edges: list[Move] = []
    for position, step in enumerate(steps):
        following = ids[position + 1] if position + 1 < len(ids) else END_ID
        if isinstance(step, ChoiceStep):
            for choice in step.choices:
                edges.append(Move(step.id, choice.next, choice.when, "choice"))
            if step.default:
                edges.append(Move(step.id, step.default, "default", "choice"))
            else:  # the run fails with choice.no_match: not an end like the others
                edges.append(Move(step.id, NO_MATCH_ID, "no match", "catch"))
            continue
        if isinstance(step, SucceedStep | FailStep):
            continue
        nxt = getattr(step, "next", None) or following
        edges.append(Move(step.id, nxt))
        if isinstance(step, ATTEMPTED_STEPS):
            for catch in step.catch:
                edges.append(Move(step.id, catch.next, "catch " + ", ".join(catch.errors), "catch"))
    known = set(ids) | {END_ID, NO_MATCH_ID}
    # One line per pair of steps, with every way along it in its label.
    merged: dict[tuple[str, str], Move] = {}
    for edge in edges:
        if edge.target not in known:
            continue
        seen = merged.get((edge.source, edge.target))
        if seen is None:
            merged[(edge.source, edge.target)] = edge
        elif edge.label:
            seen.label = f"{seen.label} / {edge.label}" if seen.label else edge.label
    return list(merged.values())


def step_count(steps: Sequence[Step]) -> int:
    """Steps with those inside parallel branches and maps: what a drawing would hold."""
    count = 0
    for step in steps:
        count += 1
        if isinstance(step, ParallelStep):
            count += sum(step_count(branch.steps) for branch in step.branches)
        elif isinstance(step, MapStep):
            count += step_count(step.steps)
    return count


def ranks(steps: Sequence[Step], edges: list[Move]) -> dict[str, int]:
    """Longest forward path from the first step; loops are cut where a DFS meets its own path."""
    order = [step.id for step in steps] + [END_ID, NO_MATCH_ID]
    out: dict[str, list[str]] = {node: [] for node in order}
    for edge in edges:
        out[edge.source].append(edge.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for root in order:  # every step, so unreachable ones are placed too
        if root in state:
            continue
        stack = [(root, iter(out[root]))]
        state[root] = 1
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[node] = 2
                stack.pop()
            elif state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(out[target])))
    rank = dict.fromkeys(order, 0)
    # Relax forward edges in a topological order (reverse DFS finish order is one).
    incoming = dict.fromkeys(order, 0)
    for edge in edges:
        if (edge.source, edge.target) not in back:
            incoming[edge.target] += 1
    ready = [node for node in order if incoming[node] == 0]
    while ready:
        node = ready.pop(0)
        for target in out[node]:
            if (node, target) in back:
                continue
            rank[target] = max(rank[target], rank[node] + 1)
            incoming[target] -= 1
            if incoming[target] == 0:
                ready.append(target)
    return rank

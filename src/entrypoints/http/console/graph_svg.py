"""A definition drawn as a graph, in SVG made on the server (no script, nothing fetched).

Steps are laid out in rows by rank (``graph_moves``), so a chain reads top to bottom and a
choice's targets sit side by side. A move back to an earlier row (a loop) runs through the
gaps between rows to a lane on the right, crossing no step. Parallel and map steps are
boxes holding their branches' (or iteration's) own graphs, drawn the same way; a workflow
step names the workflow it starts.

``states`` colours steps by what a run did there (``succeeded``, ``failed``, ``running``…),
which is how a run's page shows where it is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from wfa.domain.definition import (
    AwaitStep,
    FailStep,
    MapStep,
    ParallelStep,
    Step,
    SucceedStep,
    TaskStep,
    WaitStep,
    WorkflowStep,
)
from wfa.entrypoints.http.console.graph_moves import (
    END_ID,
    NO_MATCH_ID,
    Move,
    moves,
    ranks,
    step_count,
)

NODE_W, NODE_H = 184, 46
GAP_X, GAP_Y = 28, 54
PAD = 14
HEADER = 40  # a fan box's title above its inner graphs
LABEL_CHARS = 26
LOOP_LANE = 10  # room between two loops drawn along the right side
MAX_GRAPH_STEPS = 300  # more steps (nested ones too) than a drawing can show legibly


@dataclass
class _Block:
    """Something drawn at (0, 0) with a size; ``parts`` are SVG elements."""

    width: float
    height: float
    parts: list[str] = field(default_factory=list)


def _text(value: str, limit: int = LABEL_CHARS) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return html.escape(shown)


def _subtitle(step: Step) -> str:
    if isinstance(step, TaskStep):
        return step.action
    if isinstance(step, WaitStep):
        return f"wait {step.seconds:g} s" if step.seconds is not None else "wait until"
    if isinstance(step, AwaitStep):
        return f"await signal {step.signal}" if step.signal else f"await event {step.event}"
    if isinstance(step, WorkflowStep):
        return f"workflow {step.workflow}"
    if isinstance(step, MapStep):
        return f"map over {step.items}"
    if isinstance(step, FailStep):
        return f"fail: {step.error}"
    return _kind(step)


def _kind(step: Step) -> str:
    """The step's ``type`` as written in definitions (its msgspec tag)."""
    return str(type(step).__struct_config__.tag)


def _node(step: Step, inner: list[tuple[str, _Block]], states: Mapping[str, str]) -> _Block:
    state = states.get(step.id, "")
    css = f"node {_kind(step)}" + (f" state-{state}" if state else "")
    title = html.escape(f"{step.id} ({_subtitle(step)})" + (f": {state}" if state else ""))
    if not inner:
        block = _Block(NODE_W, NODE_H)
        shape = "ellipse" if isinstance(step, SucceedStep | FailStep) else "rect"
        if shape == "ellipse":
            block.parts.append(
                f'<ellipse class="{css}" cx="{NODE_W / 2}" cy="{NODE_H / 2}" '
                f'rx="{NODE_W / 2}" ry="{NODE_H / 2}"/>'
            )
        else:
            block.parts.append(f'<rect class="{css}" width="{NODE_W}" height="{NODE_H}" rx="7"/>')
        block.parts.append(
            f'<text class="label" x="{NODE_W / 2}" y="19" text-anchor="middle">'
            f"{_text(step.id)}</text>"
            f'<text class="sub" x="{NODE_W / 2}" y="35" text-anchor="middle">'
            f"{_text(_subtitle(step))}</text><title>{title}</title>"
        )
        return block
    width = max(NODE_W, sum(b.width for _, b in inner) + GAP_X * (len(inner) - 1) + 2 * PAD)
    height = HEADER + max(b.height for _, b in inner) + 22 + PAD
    block = _Block(width, height)
    block.parts.append(f'<rect class="{css} fan" width="{width}" height="{height}" rx="9"/>')
    block.parts.append(
        f'<text class="label" x="{PAD}" y="20">{_text(step.id, 40)}</text>'
        f'<text class="sub" x="{PAD}" y="34">{_text(_subtitle(step), 48)}</text>'
        f"<title>{title}</title>"
    )
    x = PAD + (width - 2 * PAD - (sum(b.width for _, b in inner) + GAP_X * (len(inner) - 1))) / 2
    for name, child in inner:
        block.parts.append(
            f'<text class="branch" x="{x + child.width / 2}" y="{HEADER + 12}" '
            f'text-anchor="middle">{_text(name)}</text>'
        )
        block.parts.append(f'<g transform="translate({x},{HEADER + 22})">')
        block.parts.extend(child.parts)
        block.parts.append("</g>")
        x += child.width + GAP_X
    return block


def _graph(steps: Sequence[Step], states: Mapping[str, str], scope: str = "") -> _Block:
    edges = moves(steps)
    rank = ranks(steps, edges)
    blocks: dict[str, _Block] = {}
    for step in steps:
        inner: list[tuple[str, _Block]] = []
        if isinstance(step, ParallelStep):
            inner = [
                (branch.name, _graph(branch.steps, states, f"{scope}{step.id}/{branch.name}/"))
                for branch in step.branches
            ]
        elif isinstance(step, MapStep):
            inner = [("each item", _graph(step.steps, states, f"{scope}{step.id}/"))]
        blocks[step.id] = _node(step, inner, {} if scope else states)
    if any(edge.target == END_ID for edge in edges):
        end = _Block(56, 28)
        end.parts.append('<rect class="node end" width="56" height="28" rx="14"/>')
        end.parts.append('<text class="sub" x="28" y="18" text-anchor="middle">end</text>')
        blocks[END_ID] = end
    if any(edge.target == NO_MATCH_ID for edge in edges):
        fails = _Block(150, 30)
        fails.parts.append('<ellipse class="node fail" cx="75" cy="15" rx="75" ry="15"/>')
        fails.parts.append(
            '<text class="sub" x="75" y="19" text-anchor="middle">fails: choice.no_match</text>'
        )
        blocks[NO_MATCH_ID] = fails
    rows: dict[int, list[str]] = {}
    for node in blocks:
        rows.setdefault(rank[node], []).append(node)
    row_widths = {
        r: sum(blocks[n].width for n in nodes) + GAP_X * (len(nodes) - 1)
        for r, nodes in rows.items()
    }
    loops = [e for e in edges if e.target in blocks and rank[e.target] <= rank[e.source]]
    margin = (40 + LOOP_LANE * min(len(loops), 8)) if loops else 0
    width = max(row_widths.values(), default=NODE_W) + margin
    placed: dict[str, tuple[float, float]] = {}
    # Loops run through the gaps between rows, so there is a gap above the first and below
    # the last row too when there are any.
    y = GAP_Y / 2 if loops else 0.0
    top: dict[int, float] = {}
    bottom: dict[int, float] = {}
    for r in sorted(rows):
        x = (width - margin - row_widths[r]) / 2
        row_height = max(blocks[n].height for n in rows[r])
        top[r], bottom[r] = y, y + row_height
        for node in rows[r]:
            placed[node] = (x, y)
            x += blocks[node].width + GAP_X
        y += row_height + GAP_Y
    graph = _Block(width, max(y - (GAP_Y / 2 if loops else GAP_Y), NODE_H))
    lanes = {id(edge): width - 16 - LOOP_LANE * (i % 8) for i, edge in enumerate(loops)}
    for edge in edges:
        if edge.target not in placed:
            continue
        lane = lanes.get(id(edge))
        if lane is None:
            graph.parts.append(_forward_svg(edge, placed, blocks))
        else:
            below = bottom[rank[edge.source]] + GAP_Y / 2
            above = top[rank[edge.target]] - GAP_Y / 2
            graph.parts.append(_loop_svg(edge, placed, blocks, lane, below, above))
    for node, (x, node_y) in placed.items():
        graph.parts.append(f'<g transform="translate({x},{node_y})">')
        graph.parts.extend(blocks[node].parts)
        graph.parts.append("</g>")
    return graph


def _forward_svg(
    edge: Move, placed: Mapping[str, tuple[float, float]], blocks: Mapping[str, _Block]
) -> str:
    (sx, sy), (tx, ty) = placed[edge.source], placed[edge.target]
    source, target = blocks[edge.source], blocks[edge.target]
    x1, y1 = sx + source.width / 2, sy + source.height
    x2, y2 = tx + target.width / 2, ty
    middle = (y1 + y2) / 2
    path = f"M{x1},{y1} C{x1},{middle} {x2},{middle} {x2},{y2 - 2}"
    return _path(edge, path, (x1 + x2) / 2, middle, "middle")


def _loop_svg(
    edge: Move,
    placed: Mapping[str, tuple[float, float]],
    blocks: Mapping[str, _Block],
    lane: float,
    below: float,
    above: float,
) -> str:
    """A move back up: down into the gap under the source's row, right to its lane, up to the
    gap over the target's row, and into the target from above; it crosses no step."""
    (sx, sy), (tx, ty) = placed[edge.source], placed[edge.target]
    source, target = blocks[edge.source], blocks[edge.target]
    x1, y1 = sx + source.width / 2, sy + source.height
    x2, y2 = tx + target.width / 2, ty
    path = f"M{x1},{y1} V{below} H{lane} V{above} H{x2} V{y2 - 2}"
    return _path(edge, path, lane - 4, (below + above) / 2, "end")


def _path(edge: Move, path: str, lx: float, ly: float, anchor: str) -> str:
    label = ""
    if edge.label:
        label = (
            f'<text class="edge-label" x="{lx:g}" y="{ly - 3:g}" text-anchor="{anchor}">'
            f"{_text(edge.label)}<title>{html.escape(edge.label)}</title></text>"
        )
    return f'<path class="edge {edge.kind}" d="{path}" marker-end="url(#arrow)"/>{label}'


def definition_svg(
    steps: Sequence[Step], states: Mapping[str, str] | None = None, title: str = ""
) -> str:
    """The steps as an ``<svg>`` element, sized to fit, with a title for screen readers."""
    graph = _graph(steps, states or {})
    width, height = graph.width + 2 * PAD, graph.height + 2 * PAD
    return (
        f'<svg class="graph" role="img" aria-labelledby="graph-title" '
        f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="graph-title">{html.escape(title)}</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        f'</defs><g transform="translate({PAD},{PAD})">{"".join(graph.parts)}</g></svg>'
    )


def drawing(steps: Sequence[Step], states: Mapping[str, str], title: str) -> Markup | None:
    """The steps as SVG for a page, or None when there are too many to draw legibly."""
    if step_count(steps) > MAX_GRAPH_STEPS:
        return None
    return Markup(definition_svg(steps, states, title=title))  # built from escaped text only

"""The console's drawing of a definition: every step once, nothing overlapping, text escaped,
loops and branches drawn, a run's states shown."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from hypothesis import given, settings

from tests.unit.domain.test_run_properties import raw_definitions
from wfa.domain.validation import parse_definition
from wfa.entrypoints.http.console.graph_svg import definition_svg

SVG = "{http://www.w3.org/2000/svg}"
TRANSLATE = re.compile(r"translate\(([-\d.]+),([-\d.]+)\)")


def drawn(raw: dict[str, Any], states: dict[str, str] | None = None) -> ET.Element:
    definition = parse_definition(raw)
    return ET.fromstring(definition_svg(definition.steps, states, title="t"))


def labels(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == "label"]


def boxes(svg: ET.Element) -> list[tuple[float, float, float, float]]:
    """The outer nodes' boxes: (left, top, right, bottom)."""
    found = []
    (canvas,) = [g for g in svg if g.tag == f"{SVG}g"]
    for group in canvas:
        if group.tag != f"{SVG}g":
            continue
        match = TRANSLATE.match(group.get("transform", ""))
        assert match is not None
        x, y = float(match.group(1)), float(match.group(2))
        shape = group[0]
        if shape.tag == f"{SVG}rect":
            w, h = float(shape.get("width", 0)), float(shape.get("height", 0))
        else:
            w, h = 2 * float(shape.get("rx", 0)), 2 * float(shape.get("ry", 0))
        found.append((x, y, x + w, y + h))
    return found


@settings(max_examples=150, deadline=None)
@given(raw_definitions(loops=True))
def test_every_step_is_drawn_once_and_no_two_overlap(raw):
    svg = drawn(raw)
    assert sorted(labels(svg)) == sorted(step["id"] for step in raw["steps"])
    placed = boxes(svg)
    for i, (l1, t1, r1, b1) in enumerate(placed):
        for l2, t2, r2, b2 in placed[i + 1 :]:
            assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1, "two nodes overlap"
    width, height = (float(v) for v in svg.get("viewBox", "").split()[2:])
    assert all(
        left >= 0 and right <= width and bottom <= height for left, _, right, bottom in placed
    )
    first_top = min(top for _, top, _, _ in placed)
    assert boxes(svg)[0][1] == first_top  # the first step starts the drawing


def test_a_condition_is_shown_as_text_never_as_markup():
    svg_text = definition_svg(
        parse_definition(
            {
                "name": "x",
                "steps": [
                    {
                        "id": "c",
                        "type": "choice",
                        "choices": [{"when": "input.a < `1` && input.b != '</svg>'", "next": "y"}],
                        "default": "n",
                    },
                    {"id": "y", "type": "succeed"},
                    {"id": "n", "type": "fail"},
                ],
            }
        ).steps,
        title="<b>",
    )
    svg = ET.fromstring(svg_text)  # it parses: nothing escaped its text
    assert "</svg>" not in svg_text[: svg_text.rindex("</svg>")]
    edge_titles = [t.text for t in svg.iter(f"{SVG}title")]
    assert "input.a < `1` && input.b != '</svg>'" in edge_titles
    assert svg.find(f"{SVG}title").text == "<b>"


def test_a_loop_back_is_drawn_along_the_right_side():
    svg = drawn(
        {
            "name": "poll",
            "steps": [
                {"id": "check", "type": "task", "action": "noop"},
                {"id": "wait", "type": "wait", "seconds": 5},
                {
                    "id": "ready",
                    "type": "choice",
                    "choices": [{"when": "input.ready", "next": "ok"}],
                    "default": "check",
                },
                {"id": "ok", "type": "succeed"},
            ],
        }
    )
    paths = [p.get("d", "") for p in svg.iter(f"{SVG}path") if "edge" in p.get("class", "")]
    (loop,) = [d for d in paths if _ends_above(d)]
    lane = float(re.findall(r"H(-?[\d.]+)", loop)[0])
    assert all(right < lane for _, _, right, _ in boxes(svg))  # it passes beside every step


def test_a_choice_without_default_leads_to_its_failure_and_shared_targets_share_a_line():
    svg = drawn(
        {
            "name": "pick",
            "steps": [
                {
                    "id": "pick",
                    "type": "choice",
                    "choices": [
                        {"when": "input.a", "next": "ok"},
                        {"when": "input.b", "next": "ok"},
                    ],
                },
                {"id": "ok", "type": "succeed"},
            ],
        }
    )
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "fails: choice.no_match" in texts
    assert "no match" in texts
    assert "input.a / input.b" in texts  # one line to ok, both conditions on it


def _ends_above(d: str) -> bool:
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
    return numbers[-1] < numbers[1]  # the end's y is above the start's


def test_branches_are_drawn_inside_their_step_and_a_run_colours_its_steps():
    svg = drawn(
        {
            "name": "fan",
            "steps": [
                {
                    "id": "both",
                    "type": "parallel",
                    "branches": [
                        {"name": "left", "steps": [{"id": "l1", "type": "task", "action": "noop"}]},
                        {
                            "name": "right",
                            "steps": [{"id": "r1", "type": "task", "action": "noop"}],
                        },
                    ],
                },
                {"id": "after", "type": "task", "action": "noop"},
            ],
        },
        states={"both": "succeeded", "after": "failed"},
    )
    assert set(labels(svg)) == {"both", "l1", "r1", "after"}
    branches = {t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "branch"}
    assert branches == {"left", "right"}
    classes = {s.get("class") for s in svg.iter() if "node" in (s.get("class") or "")}
    assert "node parallel state-succeeded fan" in classes
    assert "node task state-failed" in classes

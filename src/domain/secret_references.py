"""Which secrets a definition's templates name, and where naming one is refused.

``{{ secrets.NAME }}`` reads the secret ``NAME``, and only a task's params may do so: the
engine adds the secrets a step's params name to the context of that one rendering, never to
the run, so a succeed output, a fail cause, a wait's ``until`` or a choice condition could
only ever read null there, and would put a value in the run's record if they could.

References are found in the parsed expression, not its text: ``secrets`` counts where the
expression reads the root of the context (``input.secrets.x`` or ``items[?secrets]`` read
something else), and it must be followed by ``.NAME`` (``secrets`` alone or ``secrets.*``
would read every secret).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from wfa.domain.definition import ChoiceStep, FailStep, Step, SucceedStep, TaskStep, WaitStep
from wfa.domain.errors import ExpressionError
from wfa.domain.expressions import expressions_in, parse_expression
from wfa.domain.secrets import secret_name_problem

ROOT = "secrets"
_ONLY_IN_PARAMS = "secrets can only be used in a task's params"
_NEEDS_NAME = "secrets must be read one at a time, as secrets.NAME"
# Nodes whose first child reads what the node reads while the others read something else:
# the elements of a projection, the result of a pipe, the items a filter tests.
_FIRST_CHILD_ONLY = {"projection", "value_projection", "filter_projection", "pipe"}


def secret_names(template: Any) -> frozenset[str]:
    """The names of the secrets a template (a task's params) reads."""
    names: set[str] = set()
    for _, source in expressions_in(template):
        names |= _analysed(source)[0]
    return frozenset(names)


def step_secret_problems(step: Step) -> Iterator[tuple[str, str]]:
    """``(relative path, message)`` for each refused use of ``secrets`` in a step."""
    if isinstance(step, TaskStep):
        yield from _template_problems(".params", step.params, allowed=True)
    elif isinstance(step, ChoiceStep):
        for index, choice in enumerate(step.choices):
            names, problems = _analysed(choice.when)
            where = f".choices[{index}].when"
            yield from ((where, problem) for problem in problems)
            if names:
                yield where, _ONLY_IN_PARAMS
    elif isinstance(step, WaitStep):
        yield from _template_problems(".until", step.until, allowed=False)
    elif isinstance(step, SucceedStep):
        yield from _template_problems(".output", step.output, allowed=False)
    elif isinstance(step, FailStep):
        yield from _template_problems(".cause", step.cause, allowed=False)


def _template_problems(path: str, template: Any, *, allowed: bool) -> Iterator[tuple[str, str]]:
    for inner, source in expressions_in(template):
        names, problems = _analysed(source)
        yield from ((f"{path}{inner}", problem) for problem in problems)
        if names and not allowed:
            yield f"{path}{inner}", _ONLY_IN_PARAMS


@lru_cache(maxsize=4096)
def _analysed(source: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The secret names an expression reads, and what is wrong with how it reads them."""
    try:
        parsed = parse_expression(source).parsed
    except ExpressionError:
        return frozenset(), ()  # reported by the template check, with its reason
    names: set[str] = set()
    problems: list[str] = []
    _walk(parsed, True, names, problems)
    return frozenset(names), tuple(dict.fromkeys(problems))


def _walk(node: Any, at_root: bool, names: set[str], problems: list[str]) -> None:
    """Visit a parsed expression; ``at_root``: the node reads the root of the context."""
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    children: list[Any] = list(node.get("children", []))
    if kind == "subexpression":
        _walk_chain(children, at_root, names, problems)
    elif kind == "field":
        if at_root and node.get("value") == ROOT:
            problems.append(_NEEDS_NAME)
    elif kind == "current" or not children:
        return
    elif kind in _FIRST_CHILD_ONLY or kind == "index_expression":
        _walk(children[0], at_root, names, problems)
        for child in children[1:]:
            _walk(child, False, names, problems)
    elif kind == "expref":  # applied to each element later, never to the root
        for child in children:
            _walk(child, False, names, problems)
    else:  # functions, comparisons, and/or/not, multi-selects, flatten: read what they read
        for child in children:
            _walk(child, at_root, names, problems)


def _walk_chain(children: list[Any], at_root: bool, names: set[str], problems: list[str]) -> None:
    """``a.b.c``: the first link reads what the chain reads; each next one, the link before."""
    while at_root and children and children[0].get("type") == "current":
        children = children[1:]  # @.secrets.X reads what secrets.X reads
    if not children:
        return
    first, rest = children[0], children[1:]
    if at_root and first.get("type") == "field" and first.get("value") == ROOT:
        name_node = rest[0] if rest else None
        if name_node is not None and name_node.get("type") == "index_expression":
            name_node = name_node["children"][0]  # secrets.X[0]
        if name_node is None or name_node.get("type") != "field":
            problems.append(_NEEDS_NAME)
        else:
            name = str(name_node.get("value"))
            problem = secret_name_problem(name)
            if problem is None:
                names.add(name)
            else:
                problems.append(problem)
        for child in rest:
            _walk(child, False, names, problems)
        return
    _walk(first, at_root, names, problems)
    for child in rest:
        _walk(child, False, names, problems)

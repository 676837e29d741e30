"""Which secrets a definition's templates name, and where naming one is refused.

``{{ secrets.NAME }}`` reads the secret ``NAME``, and only a task's params may do so: the
engine resolves the secrets a step's params name for that one rendering, never for the run,
so a succeed output, a fail cause, a wait's ``until`` or a choice condition could only ever
read null there, and would put a value in the run's record if they could.

A secret is read only as a whole, bare expression: ``{{ secrets.NAME }}``, alone or with
text around it ("Bearer {{ secrets.T }}"). Any other expression that reads the root
``secrets`` — an argument of a function, a comparison, a projection, a pipe, ``||``, an
index — is refused, since ``reverse(secrets.T)`` would put a transformed value that
redaction cannot recognise in the run's record, and ``secrets.T == 'x'`` is a guessing
oracle. Refusal is a courtesy, not the defence: a bare reference is substituted by its
value and every other expression is evaluated over a context without secrets
(``render_params``), so no expression can reach a value by any path.

References are found in the parsed expression, not its text: ``secrets`` counts where the
expression reads the root of the context (``input.secrets.x`` or ``items[?secrets]`` read
something else).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from wfa.domain.definition import (
    FAN_STEPS,
    ChoiceStep,
    FailStep,
    MapStep,
    Step,
    SucceedStep,
    TaskStep,
    WaitStep,
)
from wfa.domain.errors import ExpressionError
from wfa.domain.expression_cost import Budget
from wfa.domain.expressions import (
    DEFAULT_MAX_EXPRESSION_LENGTH,
    expressions_in,
    parse_expression,
    render,
)
from wfa.domain.secrets import secret_name_problem

ROOT = "secrets"
_ONLY_IN_PARAMS = "secrets can only be used in a task's params"
_BARE_ONLY = (
    "a secret can only be used whole, as {{ secrets.NAME }}: never inside a function, "
    "comparison, projection, filter, pipe, index, or/and/not"
)
# Nodes whose first child reads what the node reads while the others read something else:
# the elements of a projection, the result of a pipe, the items a filter tests.
_FIRST_CHILD_ONLY = {"projection", "value_projection", "filter_projection", "pipe"}


def secret_names(template: Any) -> frozenset[str]:
    """The names of the secrets a template (a task's params) reads."""
    return frozenset(secret_references(template).values())


def secret_references(template: Any) -> dict[str, str]:
    """Each bare ``secrets.NAME`` expression of a template (its text) and the name it reads."""
    found: dict[str, str] = {}
    for _, source in expressions_in(template):
        name = _analysed(source)[0]
        if name is not None:
            found[source.strip()] = name
    return found


def render_params(
    template: Any,
    context: dict[str, Any],
    secrets: Mapping[str, str],
    budget: Budget | None = None,
) -> Any:
    """Render a task's params: bare references by value, the rest over ``context`` alone."""
    fixed = {source: secrets[name] for source, name in secret_references(template).items()}
    return render(template, context, budget, fixed=fixed)


def step_secret_problems(
    step: Step, max_length: int = DEFAULT_MAX_EXPRESSION_LENGTH
) -> Iterator[tuple[str, str]]:
    """``(relative path, message)`` for each refused use of ``secrets`` in a step.

    An expression longer than ``max_length`` is passed over: its length is reported by the
    template check, and parsing it (and caching the parse) is what that limit prevents.
    """
    if isinstance(step, TaskStep):
        yield from _template_problems(".params", step.params, max_length, allowed=True)
    elif isinstance(step, ChoiceStep):
        for index, choice in enumerate(step.choices):
            if len(choice.when.strip()) <= max_length and _reads_secrets(choice.when):
                yield f".choices[{index}].when", _ONLY_IN_PARAMS
    elif isinstance(step, WaitStep):
        yield from _template_problems(".until", step.until, max_length, allowed=False)
    elif isinstance(step, SucceedStep):
        yield from _template_problems(".output", step.output, max_length, allowed=False)
    elif isinstance(step, FailStep):
        yield from _template_problems(".cause", step.cause, max_length, allowed=False)
    elif isinstance(step, FAN_STEPS):
        yield from _template_problems(".input", step.input, max_length, allowed=False)
        if isinstance(step, MapStep):
            yield from _template_problems(".items", step.items, max_length, allowed=False)


def _template_problems(
    path: str, template: Any, max_length: int, *, allowed: bool
) -> Iterator[tuple[str, str]]:
    for inner, source in expressions_in(template):
        if len(source.strip()) > max_length:
            continue
        if not allowed:
            if _reads_secrets(source):
                yield f"{path}{inner}", _ONLY_IN_PARAMS
            continue
        yield from ((f"{path}{inner}", problem) for problem in _analysed(source)[1])


def _reads_secrets(source: str) -> bool:
    name, problems = _analysed(source)
    return name is not None or bool(problems)


@lru_cache(maxsize=4096)
def _analysed(source: str) -> tuple[str | None, tuple[str, ...]]:
    """The secret a bare reference reads, and what is wrong with how an expression reads any."""
    try:
        parsed = parse_expression(source).parsed
    except ExpressionError:
        return None, ()  # reported by the template check, with its reason
    name = _bare_name(parsed)
    if name is not None:
        problem = secret_name_problem(name)
        return (name, ()) if problem is None else (None, (problem,))
    return None, (_BARE_ONLY,) if _reads_root_secrets(parsed, True) else ()


def _bare_name(node: Any) -> str | None:
    """``NAME`` when the whole expression is ``secrets.NAME``, else None."""
    if node.get("type") != "subexpression":
        return None
    children = node.get("children", [])
    if len(children) != 2 or any(child.get("type") != "field" for child in children):
        return None
    first, second = children
    return str(second.get("value")) if first.get("value") == ROOT else None


def _reads_root_secrets(node: Any, at_root: bool) -> bool:
    """Whether a parsed expression reads ``secrets`` of the root; ``at_root``: node reads it."""
    if not isinstance(node, dict):
        return False
    kind = node.get("type")
    children: list[Any] = list(node.get("children", []))
    if kind == "field":
        return at_root and node.get("value") == ROOT
    if kind == "subexpression":  # a.b.c: the first link reads what the chain reads
        while at_root and children and children[0].get("type") == "current":
            children = children[1:]  # @.secrets.X reads what secrets.X reads
        firsts, rests = children[:1], children[1:]
    elif kind in _FIRST_CHILD_ONLY or kind == "index_expression":
        firsts, rests = children[:1], children[1:]
    elif kind == "expref":  # applied to each element later, never to the root
        firsts, rests = [], children
    else:  # functions, comparisons, and/or/not, multi-selects, flatten: read what they read
        firsts, rests = children, []
    return any(_reads_root_secrets(child, at_root) for child in firsts) or any(
        _reads_root_secrets(child, False) for child in rests
    )

"""``{{ expr }}`` templates and choice conditions: JMESPath over the run context.

JMESPath is a query language over JSON data; it has no way to call into Python, so neither a
definition nor a payload can execute code. A string that is one whole ``{{ }}`` keeps the type
of the value it selects; a string with text around its expressions renders each value as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError, ParseError
from jmespath.functions import Functions
from jmespath.parser import ParsedResult

from wfa.domain.errors import ExpressionError, ExpressionTooCostly
from wfa.domain.expression_cost import BoundedInterpreter, Budget

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


DEFAULT_MAX_EXPRESSION_LENGTH = 2_000
"""The longest expression, in characters (``WFA_MAX_EXPRESSION_LENGTH``): parsing is slow
and recursive, so a longer one is refused before it is parsed."""


def compile_expression(
    source: str, max_length: int = DEFAULT_MAX_EXPRESSION_LENGTH
) -> ParsedResult:
    """Parse one JMESPath expression once; raise ExpressionError when it does not parse or
    is longer than ``max_length`` characters."""
    text = source.strip()
    if len(text) > max_length:
        raise ExpressionError(
            f"an expression has at most {max_length:,} characters, this one has {len(text):,}"
            " (WFA_MAX_EXPRESSION_LENGTH)"
        )
    return parse_expression(text)


@lru_cache(maxsize=4096)
def parse_expression(source: str) -> ParsedResult:
    """Parse one expression once, whatever its length (it was checked when registered)."""
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    try:
        parsed = jmespath.compile(text)
    except RecursionError:
        raise ExpressionError(f"expression {text[:40]!r}… is nested too deeply") from None
    except ParseError as error:
        reason = f"{error.msg} at column {error.lex_position}{_literal_hint(text, error)}"
        raise ExpressionError(f"malformed expression {text!r}: {reason}") from None
    except JMESPathError as error:
        raise ExpressionError(f"malformed expression {text!r}: {_first_line(error)}") from None
    unknown = sorted(_function_names(parsed.parsed) - _KNOWN_FUNCTIONS)
    if unknown:
        raise ExpressionError(f"unknown function {unknown[0]}() in {text!r}")
    return parsed


_KNOWN_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)


def _function_names(node: Any) -> set[str]:
    """Every function a parsed expression calls, found by walking its syntax tree."""
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if current.get("type") == "function_expression":
                names.add(str(current.get("value")))
            stack.extend(current.get("children", []))
        elif isinstance(current, list):
            stack.extend(current)
    return names


_BARE_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _literal_hint(text: str, error: ParseError) -> str:
    """The fix for the commonest first mistake, ``total > 100``: JMESPath reads a bare
    number as an index, and a literal must be written in backticks."""
    if str(getattr(error, "token_type", "")).lower() != "number":
        return ""
    position = error.lex_position if isinstance(error.lex_position, int) else -1
    number = _BARE_NUMBER.match(text, position) if position >= 0 else None
    literal = number.group() if number else str(error.token_value)
    return f"; JMESPath literals need backticks: `{literal}`"


def _first_line(error: Exception) -> str:
    line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return line.removesuffix(", for expression:").rstrip(":")


def evaluate(source: str, context: dict[str, Any], budget: Budget | None = None) -> Any:
    """Evaluate one expression over the context, charging ``budget`` (a fresh default one
    when None) for what it builds and walks; ExpressionTooCostly past it."""
    budget = Budget() if budget is None else budget
    interpreter = BoundedInterpreter(budget)
    try:
        parsed = parse_expression(source)
        value = interpreter.visit(parsed.parsed, context)
        if not _only_selects(parsed.parsed):  # the caller keeps, stores or prints what it built
            budget.charge(interpreter.deep_size(value))
    except ExpressionTooCostly as error:
        raise ExpressionTooCostly(f"expression {source.strip()!r} {error}") from None
    except RecursionError:  # data nested deeper than Python walks (to_string, ==)
        raise ExpressionError(
            f"expression {source.strip()!r} failed: its data is nested too deeply"
        ) from None
    except JMESPathError as error:
        raise ExpressionError(
            f"expression {source.strip()!r} failed: {_first_line(error)}"
        ) from None
    return value


_SELECTING = frozenset({"field", "subexpression", "index_expression", "index", "current"})


def _only_selects(node: Any) -> bool:
    """Whether an expression only picks a part of the context (``input.items[0]``): it builds
    nothing, and what it picks came from decoded JSON or a stored output, bounded in size by
    the payload limits and free of shared parts, so its size is not charged again."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.get("type") not in _SELECTING:
            return False
        stack.extend(current.get("children", []))
    return True


def is_truthy(value: Any) -> bool:
    """JMESPath's own truth: false, null, and empty strings, lists and objects are false."""
    return not (value is None or value is False or value in ("", [], {}))


def condition_holds(source: str, context: dict[str, Any], budget: Budget | None = None) -> bool:
    """A choice's ``when``: the expression's value, read with JMESPath's truth."""
    return is_truthy(evaluate(source, context, budget))


def expressions_in(value: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(relative path, expression)`` for every ``{{ }}`` inside a JSON-like value."""
    if isinstance(value, str):
        for match in _TEMPLATE.finditer(value):
            yield "", match.group(1)
        if "{{" in _TEMPLATE.sub("", value):
            yield "", "{{"  # an opened template that never closes
    elif isinstance(value, dict):
        for key, item in value.items():
            for path, source in expressions_in(item):
                yield f".{key}{path}", source
    elif isinstance(value, list):
        for index, item in enumerate(value):
            for path, source in expressions_in(item):
                yield f"[{index}]{path}", source


def is_whole_template(text: str) -> bool:
    """A string that is one whole ``{{ }}``: it renders to the value's own type, any type."""
    return text.count("{{") == 1 and _TEMPLATE.fullmatch(text.strip()) is not None


def has_templates(value: Any) -> bool:
    """Whether a JSON-like value holds a ``{{ }}`` anywhere: its value is known at run time."""
    return next(expressions_in(value), None) is not None


def check_template(
    value: Any, max_length: int = DEFAULT_MAX_EXPRESSION_LENGTH
) -> list[tuple[str, str]]:
    """Every malformed or too long expression in a template as ``(relative path, message)``."""
    problems = []
    for path, source in expressions_in(value):
        if source == "{{":
            problems.append((path, "'{{' is never closed by '}}'"))
            continue
        try:
            compile_expression(source, max_length)
        except ExpressionError as error:
            problems.append((path, str(error)))
    return problems


def render(
    value: Any,
    context: dict[str, Any],
    budget: Budget | None = None,
    *,
    fixed: Mapping[str, Any] | None = None,
) -> Any:
    """Render every template inside a JSON-like value over the context.

    ``fixed`` gives the value of whole expressions by their text (a task's secrets): they are
    not evaluated, and the context never holds them. The expressions share ``budget`` (a
    fresh default one when None).
    """
    budget = Budget() if budget is None else budget
    if isinstance(value, str):
        return _render_string(value, context, fixed or {}, budget)
    if isinstance(value, dict):
        return {key: render(item, context, budget, fixed=fixed) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context, budget, fixed=fixed) for item in value]
    return value


def _render_string(
    text: str, context: dict[str, Any], fixed: Mapping[str, Any], budget: Budget
) -> Any:
    if "{{" not in text:
        return text

    def value_of(source: str) -> Any:
        key = source.strip()
        return fixed[key] if key in fixed else evaluate(source, context, budget)

    whole = _TEMPLATE.fullmatch(text.strip())
    if whole is not None and text.count("{{") == 1:
        return value_of(whole.group(1))
    return _TEMPLATE.sub(lambda match: as_text(value_of(match.group(1))), text)


def as_text(value: Any) -> str:
    """How a value reads inside a longer string: strings as they are, null as empty, else JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

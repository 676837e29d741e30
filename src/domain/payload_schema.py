"""The shape a signal's payload must have: a small, strict subset of JSON Schema.

Keywords: ``type`` (one name or a list of them: object, array, string, number, integer,
boolean, null), ``properties``, ``required``, ``additionalProperties`` (true or false),
``items``, ``enum``, ``const``, ``minimum``, ``maximum``, ``minLength``, ``maxLength``,
``minItems``, ``maxItems``, ``description``. A schema using anything else is refused when
the definition is checked, so a misspelt keyword never passes every payload silently.

Checking walks the payload once, stops after ``MAX_PROBLEMS`` and is bounded by the
payload's own size (payloads are bounded where they enter).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from wfa.domain.errors import Problem

MAX_PROBLEMS = 20
TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_NUMBER_KEYS = ("minimum", "maximum")
_COUNT_KEYS = ("minLength", "maxLength", "minItems", "maxItems")
KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "description",
        *_NUMBER_KEYS,
        *_COUNT_KEYS,
    }
)


def schema_problems(schema: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """What is wrong with a schema itself, as ``(path inside it, message)``."""
    if not isinstance(schema, dict):
        yield path, "a schema must be an object"
        return
    for key in schema:
        if key not in KEYWORDS:
            yield f"{path}.{key}", f"unknown schema keyword (known: {', '.join(sorted(KEYWORDS))})"
    kinds = schema.get("type")
    names = kinds if isinstance(kinds, list) else [kinds] if kinds is not None else []
    known = names and all(isinstance(name, str) and name in TYPES for name in names)
    if "type" in schema and not known:
        yield f"{path}.type", f"must be one of {', '.join(TYPES)}, or a list of them"
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        yield f"{path}.properties", "must map property names to schemas"
    else:
        for name, inner in properties.items():
            yield from schema_problems(inner, f"{path}.properties.{name}")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(name, str) for name in required):
        yield f"{path}.required", "must be a list of property names"
    if not isinstance(schema.get("additionalProperties", True), bool):
        yield f"{path}.additionalProperties", "must be true or false"
    if "items" in schema:
        yield from schema_problems(schema["items"], f"{path}.items")
    if "enum" in schema and not (isinstance(schema["enum"], list) and schema["enum"]):
        yield f"{path}.enum", "must be a non-empty list of values"
    for key in _NUMBER_KEYS:
        if key in schema and not _is_number(schema[key]):
            yield f"{path}.{key}", "must be a number"
    for key in _COUNT_KEYS:
        value = schema.get(key, 0)
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
            yield f"{path}.{key}", "must be a whole number, 0 or more"


def payload_problems(schema: dict[str, Any], payload: Any) -> list[Problem]:
    """Where ``payload`` does not have the shape ``schema`` says (at most MAX_PROBLEMS)."""
    problems: list[Problem] = []
    _check(schema, payload, "payload", problems)
    return problems


def _check(schema: dict[str, Any], value: Any, path: str, problems: list[Problem]) -> None:
    if len(problems) >= MAX_PROBLEMS:
        return
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, name) for name in names):
            problems.append(Problem(path, f"expected {' or '.join(names)}, got {_kind(value)}"))
            return
    if "const" in schema and not _same(value, schema["const"]):
        problems.append(Problem(path, f"must be {schema['const']!r}"))
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        problems.append(Problem(path, f"must be one of {schema['enum']!r}"))
    if _is_number(value):
        _check_range(schema, value, path, problems)
    if isinstance(value, str):
        _check_count(schema, len(value), "minLength", "maxLength", "characters", path, problems)
    if isinstance(value, list):
        _check_count(schema, len(value), "minItems", "maxItems", "items", path, problems)
        if "items" in schema:
            for index, item in enumerate(value):
                _check(schema["items"], item, f"{path}[{index}]", problems)
    if isinstance(value, dict):
        _check_object(schema, value, path, problems)


def _check_object(
    schema: dict[str, Any], value: dict[str, Any], path: str, problems: list[Problem]
) -> None:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            problems.append(Problem(f"{path}.{name}", "is required"))
    for name, inner in value.items():
        if name in properties:
            _check(properties[name], inner, f"{path}.{name}", problems)
        elif schema.get("additionalProperties", True) is False:
            problems.append(Problem(f"{path}.{name}", "is not an expected property"))


def _check_range(schema: dict[str, Any], value: float, path: str, problems: list[Problem]) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        problems.append(Problem(path, f"must be at least {schema['minimum']}"))
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(Problem(path, f"must be at most {schema['maximum']}"))


def _check_count(
    schema: dict[str, Any],
    count: int,
    low: str,
    high: str,
    noun: str,
    path: str,
    problems: list[Problem],
) -> None:
    if low in schema and count < schema[low]:
        problems.append(Problem(path, f"must have at least {schema[low]} {noun}"))
    if high in schema and count > schema[high]:
        problems.append(Problem(path, f"must have at most {schema[high]} {noun}"))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":  # no float() of an int: one of 400 digits would overflow
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return _is_number(value)
    return _kind(value) == kind


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _same(value: Any, expected: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, as it is in Python, at any depth."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return isinstance(value, bool) and isinstance(expected, bool) and value == expected
    if isinstance(value, dict) and isinstance(expected, dict):
        return value.keys() == expected.keys() and all(
            _same(value[key], expected[key]) for key in value
        )
    if isinstance(value, list) and isinstance(expected, list):
        return len(value) == len(expected) and all(
            _same(a, b) for a, b in zip(value, expected, strict=True)
        )
    return bool(value == expected)

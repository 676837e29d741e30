"""An action's params checked against its params type, every problem with its path.

Each action declares the msgspec type of its params (usually a frozen ``msgspec.Struct``).
A definition is checked against it when it is registered, and the rendered params are
converted to it before each call. At registration a template's value is not known yet, so a
string that is one whole ``{{ }}`` is accepted wherever a value is expected (it may render to
any type), and a string with templates inside it is taken as some string: only whether the
field accepts a string at all is checked.

Structs, objects (``dict``), arrays (``list``, ``tuple``, ``set``), unions and ``Literal`` are
walked field by field, so a template may sit at any depth and every problem keeps its path.
Other types (TypedDicts, dataclasses ...) are converted whole. When params hold no template,
the whole conversion runs as well, so whatever the type itself refuses (a ``__post_init__``)
is reported at registration too.
"""

from __future__ import annotations

import collections.abc as abc
import enum
import functools
import re
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any, Literal, NamedTuple, Union

import msgspec

from wfa.domain.errors import ExpressionError, InvalidParams, Problem
from wfa.domain.expressions import (
    DEFAULT_MAX_EXPRESSION_LENGTH,
    compile_expression,
    has_templates,
    is_whole_template,
)

EXPRESSION_MARK = "wfa.expression"

Expression = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        description="A JMESPath expression over the run context",
        extra={EXPRESSION_MARK: True},
    ),
]
"""A params field holding a JMESPath expression: checked like a choice's ``when`` (it must
parse, and call only known functions), and never a ``{{ }}`` template."""

_ARRAYS = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet)
_OBJECTS = (dict, abc.Mapping, abc.MutableMapping)
_UNIONS = (Union, types.UnionType)
_NAMES = {
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "bool": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_QUOTED = re.compile(r"`([^`]*)`")

Found = Iterator[tuple[str, str]]


class _Mode(NamedTuple):
    templates: bool  # a definition's params: ``{{ }}`` stands for a value known at run time
    max_expression_length: int


def params_problems(
    value: Any,
    params_type: Any,
    *,
    templates: bool = True,
    max_expression_length: int = DEFAULT_MAX_EXPRESSION_LENGTH,
) -> list[Problem]:
    """Every way ``value`` fails ``params_type``, each at a path relative to the params.

    With ``templates`` (a definition's params) ``{{ }}`` strings stand for values known only at
    run time; without (rendered params) every string is just a string.
    """
    found = list(_check(value, params_type, "", _Mode(templates, max_expression_length)))
    if not found and not (templates and has_templates(value)):
        found = list(_converted(value, params_type, ""))
    return [Problem(path, message) for path, message in found]


def convert_params(value: Any, params_type: Any) -> Any:
    """Rendered params as ``params_type``; InvalidParams names each field that does not fit."""
    try:
        return msgspec.convert(value, params_type)
    except msgspec.ValidationError as error:
        found = list(_check(value, params_type, "", _Mode(False, DEFAULT_MAX_EXPRESSION_LENGTH)))
        if not found:  # refused by the type itself (a __post_init__): msgspec's own words
            message, inner = _split(str(error))
            found = [(inner, _describe(message, params_type))]
    raise InvalidParams([Problem(f"params{path}", message) for path, message in found])


def _check(value: Any, annotation: Any, path: str, mode: _Mode) -> Found:
    if _is_expression(annotation) or (isinstance(value, str) and _may_be_expression(annotation)):
        yield from _expression(value, path, mode.max_expression_length)
        return
    if mode.templates and isinstance(value, str) and is_whole_template(value):
        return  # any type at run time
    origin = typing.get_origin(annotation)
    if annotation is Any or annotation is object:
        return
    if origin is Annotated:
        yield from _annotated(value, annotation, path, mode)
    elif isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield from _struct(value, annotation, path, mode)
    elif origin in _UNIONS:
        yield from _union(value, annotation, path, mode)
    elif origin in _ARRAYS and isinstance(value, list) and typing.get_args(annotation):
        yield from _array(value, annotation, path, mode)
    elif origin in _OBJECTS and isinstance(value, dict) and typing.get_args(annotation):
        item_type = typing.get_args(annotation)[1]
        for key, item in value.items():
            yield from _check(item, item_type, f"{path}.{key}", mode)
    else:
        yield from _leaf(value, annotation, path, mode)


def _annotated(value: Any, annotation: Any, path: str, mode: _Mode) -> Found:
    """Check the inner type first; the constraints only once the value is fully known."""
    inner = list(_check(value, typing.get_args(annotation)[0], path, mode))
    if inner:
        yield from inner
    elif not (mode.templates and has_templates(value)):
        yield from _converted(value, annotation, path)


def _struct(value: Any, cls: type[msgspec.Struct], path: str, mode: _Mode) -> Found:
    config = cls.__struct_config__
    if not isinstance(value, dict) or config.array_like:
        yield from _leaf(value, cls, path, mode)
        return
    fields = _fields(cls)
    known = {field.encode_name for field in fields}
    if config.tag_field is not None:
        known.add(config.tag_field)
        if config.tag_field in value and value[config.tag_field] != config.tag:
            yield f"{path}.{config.tag_field}", f"expected {config.tag!r}"
    if config.forbid_unknown_fields:
        for key in value:
            if key not in known:
                yield f"{path}.{key}", "unknown field"
    for field in fields:
        where = f"{path}.{field.encode_name}"
        if field.encode_name in value:
            yield from _check(value[field.encode_name], field.type, where, mode)
        elif field.required:
            yield path, f"missing required field {field.encode_name!r}"


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    """A params type's fields, resolved once: resolving them costs more than checking a step."""
    return msgspec.structs.fields(cls)


def _union(value: Any, annotation: Any, path: str, mode: _Mode) -> Found:
    members = typing.get_args(annotation)
    verdicts = [list(_check(value, member, path, mode)) for member in members]
    if any(not verdict for verdict in verdicts):
        return
    # An object or an array is reported against the one member of that shape, inside it.
    shaped = [
        verdict
        for member, verdict in zip(members, verdicts, strict=True)
        if _shape(member) is not None and _shape(member) is type(value)
    ]
    if len(shaped) == 1:
        yield from shaped[0]
        return
    for member, verdict in zip(members, verdicts, strict=True):
        if not any(_converted(value, member, path)):
            yield from verdict  # the member whose type fits: refused by a check of ours
            return
    yield from _leaf(value, annotation, path, mode._replace(templates=False))


def _array(value: list[Any], annotation: Any, path: str, mode: _Mode) -> Found:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is tuple and (len(args) != 2 or args[1] is not Ellipsis):
        if len(value) != len(args):
            yield path, f"expected an array of {len(args)} items, got {len(value)}"
            return
        item_types = list(args)
    else:
        item_types = [args[0]] * len(value)
    for index, (item, item_type) in enumerate(zip(value, item_types, strict=True)):
        yield from _check(item, item_type, f"{path}[{index}]", mode)


def _leaf(value: Any, annotation: Any, path: str, mode: _Mode) -> Found:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as error:
        message, inner = _split(str(error))
        if mode.templates and has_templates(value) and not message.endswith("got `str`"):
            return  # some string that a template completes at run time: it may fit
        yield path + inner, _describe(message, annotation)


def _converted(value: Any, annotation: Any, path: str) -> Found:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError as error:
        message, inner = _split(str(error))
        yield path + inner, _describe(message, annotation)


def _expression(value: Any, path: str, max_length: int) -> Found:
    if not isinstance(value, str):
        yield from _converted(value, str, path)
    elif "{{" in value:
        yield path, "a JMESPath expression, not a template: write it without '{{ }}'"
    else:
        try:
            compile_expression(value, max_length)
        except ExpressionError as error:
            yield path, str(error)


def _is_expression(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not Annotated:
        return False
    return any(
        isinstance(meta, msgspec.Meta) and bool((meta.extra or {}).get(EXPRESSION_MARK))
        for meta in typing.get_args(annotation)[1:]
    )


def _may_be_expression(annotation: Any) -> bool:
    """A union with an Expression member (``Expression | None``): its strings are expressions."""
    if typing.get_origin(annotation) not in _UNIONS:
        return False
    return any(_is_expression(member) for member in typing.get_args(annotation))


def _shape(annotation: Any) -> type | None:
    """The JSON shape a type is read from, when it is an object or an array."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _shape(typing.get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return list if annotation.__struct_config__.array_like else dict
    if origin in _OBJECTS or annotation in _OBJECTS:
        return dict
    if origin in _ARRAYS or annotation in _ARRAYS:
        return list
    return None


def _split(message: str) -> tuple[str, str]:
    """msgspec says ``Expected `int`, got `str` - at `$.a[1]```: the text, and ``.a[1]``."""
    text, _, where = message.partition(" - at `$")
    return text, where.rstrip("`").replace("[...]", ".*")


def _describe(message: str, annotation: Any) -> str:
    """msgspec's message in the words of the definition's other problems."""
    choices = [] if annotation is type(None) else _choices(annotation)
    if choices and message.startswith("Invalid enum value "):
        got = message.removeprefix("Invalid enum value ")
        return f"expected one of {', '.join(map(_shown, choices))}, got {got}"
    if choices and message.startswith("Expected `") and ", got `" in message:
        got = _type_words(message.rpartition(", got `")[2].rstrip("`"))
        return f"expected one of {', '.join(map(_shown, choices))}, got {got}"
    quoted = _QUOTED.search(message)
    if message.startswith("Object missing required field") and quoted:
        return f"missing required field {quoted.group(1)!r}"
    if message.startswith("Object contains unknown field") and quoted:
        return f"unknown field {quoted.group(1)!r}"
    text = _QUOTED.sub(lambda match: _type_words(match.group(1)), message)
    return text[:1].lower() + text[1:]


def _type_words(names: str) -> str:
    parts = names.split(" | ")
    if "int" in parts and "float" in parts:
        parts.remove("int")  # both are "a number" to a user
    return " or ".join(_NAMES.get(name, name) for name in parts)


def _choices(annotation: Any) -> list[Any]:
    """The values allowed when a type is only Literals, Enums and null; else none."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return list(typing.get_args(annotation))
    if origin is Annotated:
        return _choices(typing.get_args(annotation)[0])
    if origin in _UNIONS:
        members = [_choices(member) for member in typing.get_args(annotation)]
        return [] if not all(members) else [choice for found in members for choice in found]
    if annotation is type(None):
        return [None]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [member.value for member in annotation]
    return []


def _shown(choice: Any) -> str:
    return "null" if choice is None else repr(choice)

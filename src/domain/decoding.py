"""Turn raw JSON-like data into definition Structs, collecting every structural problem.

msgspec stops at the first error of a document; users want the whole list at once, so each
field is converted on its own and every failure is kept with its path.
"""

from __future__ import annotations

import functools
import typing
from typing import Any, TypeVar

import msgspec

from wfa.domain.errors import Problem

T = TypeVar("T", bound=msgspec.Struct)


class Decoder:
    """Collects problems while it converts; ``problems`` is empty when all went well."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def struct(self, raw: Any, cls: type[T], path: str) -> T | None:
        """Convert ``raw`` into ``cls`` field by field; None when any field was wrong."""
        if not isinstance(raw, dict):
            self.add(path, f"expected an object, got {_kind(raw)}")
            return None
        ignored, hints, fields = _shape(cls)
        ok = True
        for key in raw:
            if key not in fields and key not in ignored:
                self.add(_join(path, str(key)), "unknown field")
                ok = False
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name not in raw:
                if field.required:
                    self.add(_join(path, name), "required")
                    ok = False
                continue
            converted, good = self.value(raw[name], hints[name], _join(path, name))
            ok = ok and good
            values[name] = converted
        return cls(**values) if ok else None

    def tagged(self, raw: Any, choices: dict[str, type[T]], path: str, what: str) -> T | None:
        """Convert a tagged value (a step or trigger) by its ``type`` field."""
        if not isinstance(raw, dict):
            self.add(path, f"expected an object, got {_kind(raw)}")
            return None
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in choices:
            expected = ", ".join(choices)
            if kind is None:
                shown = "missing"
            elif isinstance(kind, str):
                shown = f"unknown {what} type {kind!r}"
            else:  # an object or array would not even be looked up (it is unhashable)
                shown = f"expected a string, got {_kind(kind)}"
            self.add(_join(path, "type"), f"{shown} (expected one of: {expected})")
            return None
        return self.struct(raw, choices[kind], path)

    def value(self, raw: Any, annotation: Any, path: str) -> tuple[Any, bool]:
        """Convert one field value; Structs and tuples of Structs keep per-item paths."""
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
            converted = self.struct(raw, annotation, path)
            return converted, converted is not None
        if origin is tuple and _struct_items(annotation) is not None:
            return self._items(raw, annotation, path)
        try:
            return msgspec.convert(raw, annotation), True
        except msgspec.ValidationError as error:
            text, inner = _split_location(str(error))
            self.add(path + inner, text)
            return None, False

    def _items(self, raw: Any, annotation: Any, path: str) -> tuple[Any, bool]:
        item_type = _struct_items(annotation)
        assert item_type is not None
        if not isinstance(raw, list):
            self.add(path, f"expected an array, got {_kind(raw)}")
            return None, False
        items = [self.struct(item, item_type, f"{path}[{i}]") for i, item in enumerate(raw)]
        return tuple(items), all(item is not None for item in items)


@functools.cache
def _shape(
    cls: type[msgspec.Struct],
) -> tuple[set[str], dict[str, Any], dict[str, msgspec.structs.FieldInfo]]:
    """A Struct's tag field, type hints and fields, worked out once per class: resolving
    type hints costs far more than converting a field, and a definition has many steps."""
    config = cls.__struct_config__
    ignored = {config.tag_field} if config.tag_field else set()
    hints = typing.get_type_hints(cls)
    fields = {field.name: field for field in msgspec.structs.fields(cls)}
    return ignored, hints, fields


def _struct_items(annotation: Any) -> type[msgspec.Struct] | None:
    args = typing.get_args(annotation)
    if len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
        if isinstance(item, type) and issubclass(item, msgspec.Struct):
            return item
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _split_location(message: str) -> tuple[str, str]:
    """msgspec says ``Expected `int`, got `str` - at `$[1]```: split off the inner path."""
    text, _, where = message.partition(" - at `$")
    return text, where.rstrip("`")


def _kind(raw: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if raw is None:
        return "null"
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return "a number"
    return names.get(type(raw), type(raw).__name__)

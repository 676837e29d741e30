"""Payload limits: what a run's input, a definition and a step's output may be.

Bounded in size so one run cannot swamp the store, in nesting depth so nothing recursive
(decoding, rendering, redaction, encoding) meets a value deep enough to exhaust the stack,
and free of NUL characters, which PostgreSQL cannot keep in JSONB text: refused everywhere
alike, so a payload that SQLite would take is not refused only later on PostgreSQL.

The checks walk values with an explicit stack and read raw JSON without decoding it, so a
hostile depth is refused before any recursive code sees it.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from wfa.application.errors import ApplicationError

DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576
# Deeper than any real definition, input or API answer; far from the ~1,000 frames at which
# Python's recursion (and the decoders and renderers built on it) gives out.
DEFAULT_MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class PayloadTooLarge(ApplicationError):
    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size} bytes, over the limit of {limit} bytes")
        self.what, self.size, self.limit = what, size, limit


class NotJson(ApplicationError):
    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} is not JSON data: {reason}")


class PayloadTooDeep(ApplicationError):
    """Arrays and objects nested deeper than the limit (``WFA_MAX_JSON_DEPTH``)."""

    def __init__(self, what: str, limit: int, where: str = "") -> None:
        at = f" at {where}" if where else ""
        super().__init__(f"{what} nests arrays and objects deeper than {limit} levels{at}")
        self.limit = limit


class UnstorableText(ApplicationError):
    """A NUL character (``\\u0000``) in a string or a key: no store keeps it alike."""

    def __init__(self, what: str, where: str) -> None:
        at = f" at {where}" if where else ""
        super().__init__(f"{what} holds a NUL character (\\u0000){at}, which cannot be stored")
        self.where = where


def check_json_text(raw: bytes, what: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> None:
    """Refuse raw JSON that nests deeper than ``max_depth``, without decoding it."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # too few brackets to be too deep: the common case costs two counts
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise PayloadTooDeep(what, max_depth)
        else:
            depth -= 1


def check_storable(value: Any, what: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> None:
    """Raise PayloadTooDeep or UnstorableText, naming where, for a value no store keeps."""
    # A trail is (parent's trail, key): the path is spelled out only for the error.
    stack: list[tuple[Any, int, Any]] = [(value, 0, None)]
    while stack:
        item, depth, trail = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise UnstorableText(what, _path(trail))
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise PayloadTooDeep(what, max_depth, _path(trail))
            if isinstance(item, dict):
                for key, inner in item.items():
                    if isinstance(key, str) and "\x00" in key:
                        raise UnstorableText(what, f"{_path((trail, key))} (a key)")
                    stack.append((inner, depth + 1, (trail, key)))
            else:
                stack.extend((inner, depth + 1, (trail, i)) for i, inner in enumerate(item))


def _path(trail: Any) -> str:
    parts: list[str] = []
    while trail is not None:
        trail, key = trail
        parts.append(f"[{key}]" if isinstance(key, int) else f".{key}".replace("\x00", "\\u0000"))
    path = "".join(reversed(parts)).lstrip(".")
    return path if len(path) <= 200 else f"{path[:200]}…"


def as_bounded_json(
    value: Any, what: str, limit: int, max_depth: int = DEFAULT_MAX_JSON_DEPTH
) -> Any:
    """``value`` as plain JSON data, refused when too deep, with NUL, or over ``limit`` bytes."""
    check_storable(value, what, max_depth)
    try:
        encoded = msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError, OverflowError) as error:
        raise NotJson(what, str(error)) from None
    if len(encoded) > limit:
        raise PayloadTooLarge(what, len(encoded), limit)
    return msgspec.json.decode(encoded)

"""Payload limits: what a run's input, a definition and a step's output may be.

Bounded in size so one run cannot swamp the store, in nesting depth so nothing recursive
(decoding, rendering, redaction, encoding) meets a value deep enough to exhaust the stack,
and free of NUL characters, which PostgreSQL cannot keep in JSONB text: refused everywhere
alike, so a payload that SQLite would take is not refused only later on PostgreSQL.

The checks walk values one level at a time (no recursion), and raw JSON is measured with
msgspec, whose decoder and encoder guard their own recursion, so a hostile depth is refused
before any recursive code of ours sees it; NUL is found in the encoded text at C speed, and
only a value that fails is walked again to say where.
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
    """Refuse raw JSON (or YAML's flow style) that nests deeper than ``max_depth``.

    msgspec's decoder guards its own recursion, so decoding to measure is safe, and several
    times faster than scanning the text around its strings; text that is not JSON is scanned.
    """
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return  # too few brackets to be too deep: the common case costs two counts
    try:
        value = msgspec.json.decode(raw)
    except RecursionError:
        raise PayloadTooDeep(what, max_depth) from None
    except msgspec.DecodeError:
        if _scanned_deeper_than(raw, max_depth):
            raise PayloadTooDeep(what, max_depth) from None
        return
    if _deeper_than(value, max_depth):
        raise PayloadTooDeep(what, max_depth)


def _scanned_deeper_than(raw: bytes, max_depth: int) -> bool:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > max_depth:
            return True
    return False


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest more than ``max_depth`` levels: one level at a time,
    looking only at containers, so a wide value costs one pass and a deep one no stack."""
    containers = (dict, list, tuple)  # a tuple, not a union: isinstance is twice as fast
    level = [value] if isinstance(value, containers) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        deeper: list[Any] = []
        for container in level:
            inner = container.values() if isinstance(container, dict) else container
            deeper.extend([item for item in inner if isinstance(item, containers)])
        level = deeper
    return False


def check_storable(value: Any, what: str, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> None:
    """Raise PayloadTooDeep or UnstorableText, naming where, for a value no store keeps."""
    if _plainly_storable(value, max_depth):
        return  # the usual case, checked at C speed; the walk below is for naming where
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


def _plainly_storable(value: Any, max_depth: int) -> bool:
    try:
        encoded = msgspec.json.encode(value)  # a NUL in a string or key is written \u0000
    except (RecursionError, TypeError, msgspec.EncodeError, OverflowError):
        return False
    return b"\\u0000" not in encoded and not _deeper_than(value, max_depth)


def as_bounded_json(
    value: Any, what: str, limit: int, max_depth: int = DEFAULT_MAX_JSON_DEPTH
) -> Any:
    """``value`` as plain JSON data, refused when too deep, with NUL, or over ``limit`` bytes."""
    try:
        encoded = msgspec.json.encode(value)  # guards its own recursion: RecursionError
    except RecursionError:
        check_storable(value, what, max_depth)  # raises, naming where it is too deep
        raise PayloadTooDeep(what, max_depth) from None
    except (TypeError, msgspec.EncodeError, OverflowError) as error:
        raise NotJson(what, str(error)) from None
    if b"\\u0000" in encoded or _deeper_than(value, max_depth):
        check_storable(value, what, max_depth)  # raises, naming where
    if len(encoded) > limit:
        raise PayloadTooLarge(what, len(encoded), limit)
    return msgspec.json.decode(encoded)

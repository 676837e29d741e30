"""Opaque cursors for paged lists: where the previous page ended, as (time, id).

A cursor comes back from clients, so anything may arrive in its place: it is taken apart
here, once, and anything but a pair of an ISO 8601 time and an id is ``InvalidCursor``
(400), never an error of the store that reads it.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

import msgspec

from wfa.application.errors import ApplicationError

MAX_CURSOR_LENGTH = 512


class InvalidCursor(ApplicationError):
    def __init__(self, cursor: str) -> None:
        shown = cursor if len(cursor) <= 80 else f"{cursor[:80]}…"
        super().__init__(f"invalid cursor {shown!r}: pass back a next_cursor from a page")


def encode_cursor(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (ISO time, id) a cursor holds; InvalidCursor for anything else."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii"))
        first, second = msgspec.json.decode(raw, type=tuple[str, str])
        at = datetime.fromisoformat(first)
        if at.tzinfo is None:  # every page gives an aware time
            raise ValueError("a cursor's time names its zone")
        at.astimezone(UTC)  # what the store will do with it: year 1 at +01:00 overflows
    except (ValueError, TypeError, OverflowError, binascii.Error, msgspec.DecodeError):
        raise InvalidCursor(cursor) from None
    # A database refuses NUL in text (PostgreSQL: an error, not an answer).
    if "\x00" in first or "\x00" in second:
        raise InvalidCursor(cursor)
    return (first, second)

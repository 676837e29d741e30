"""Opaque cursors for paged lists: where the previous page ended, as (sort key, id)."""

from __future__ import annotations

import base64

import msgspec

from wfa.application.errors import ApplicationError


class InvalidCursor(ApplicationError):
    def __init__(self, cursor: str) -> None:
        super().__init__(f"invalid cursor {cursor!r}: pass back a next_cursor from a page")


def encode_cursor(position: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(position)).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        first, second = msgspec.json.decode(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, msgspec.DecodeError):
        raise InvalidCursor(cursor) from None
    if not isinstance(first, str) or not isinstance(second, str):
        raise InvalidCursor(cursor)
    return (first, second)

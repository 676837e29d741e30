"""Payload limits: inputs and outputs are bounded so one run cannot swamp the store."""

from __future__ import annotations

from typing import Any

import msgspec

from wfa.application.errors import ApplicationError

DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576


class PayloadTooLarge(ApplicationError):
    def __init__(self, what: str, size: int, limit: int) -> None:
        super().__init__(f"{what} is {size} bytes, over the limit of {limit} bytes")
        self.what, self.size, self.limit = what, size, limit


class NotJson(ApplicationError):
    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} is not JSON data: {reason}")


def as_bounded_json(value: Any, what: str, limit: int) -> Any:
    """``value`` as plain JSON data, refused when its JSON is over ``limit`` bytes."""
    try:
        encoded = msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError, OverflowError) as error:
        raise NotJson(what, str(error)) from None
    if len(encoded) > limit:
        raise PayloadTooLarge(what, len(encoded), limit)
    return msgspec.json.decode(encoded)

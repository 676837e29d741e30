"""Request parameters shared by the controllers, with their bounds."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from litestar.params import HeaderParameter, QueryParameter

# A run's history numbers its events (seq) in a 32-bit INTEGER column: no seq is larger, and
# a larger number in a query would overflow the database driver (a 500, not a 400).
MAX_SEQ = 2**31 - 1

Limit: TypeAlias = Annotated[
    int, QueryParameter(ge=1, le=200, description="How many items at most (1-200).")
]
EventLimit: TypeAlias = Annotated[
    int,
    QueryParameter(ge=1, le=5000, description="How many events at most (1-5000, default 500)."),
]
Cursor: TypeAlias = Annotated[
    str | None,
    QueryParameter(max_length=512, description="The next_cursor of the previous page."),
]
IdempotencyKey: TypeAlias = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Starting again with the same key returns the first run.",
    ),
]

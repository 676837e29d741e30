"""What the memory adapter's stores have in common: writes staged by key in a unit of work
(None: deleted), read over what is stored, and applied at commit."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def current(stored: dict[K, V], staged: dict[K, V | None]) -> dict[K, V]:
    """What a unit of work sees: the stored values with its own writes over them."""
    merged: dict[K, V | None] = {**stored, **staged}
    return {key: value for key, value in merged.items() if value is not None}


def apply_staged(stored: dict[K, V], staged: dict[K, V | None]) -> None:
    """Commit a unit of work's writes: each value stored, each None deleted."""
    for key, value in staged.items():
        if value is None:
            stored.pop(key, None)
        else:
            stored[key] = value

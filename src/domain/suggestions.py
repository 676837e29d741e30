"""Suggestions for names a definition gets wrong: ``did you mean 'process'?``.

A misspelt step id or action name is the commonest first mistake; the closest known names
(difflib's ratio, the same measure as Python's own hints) turn the refusal into the fix.
"""

from __future__ import annotations

from collections.abc import Collection
from difflib import get_close_matches

MAX_LISTED = 20
"""The most known names listed after an unknown one, so the message stays one line."""


def did_you_mean(name: str, known: Collection[str]) -> str:
    """``"; did you mean 'x'?"`` (or ``'x' or 'y'``) when a known name is close, else ``""``."""
    matches = get_close_matches(name, sorted(known), n=3)
    if not matches:
        return ""
    return f"; did you mean {' or '.join(repr(match) for match in matches)}?"


def known_names(known: Collection[str]) -> str:
    """``"known: a, b, c"``, cut after ``MAX_LISTED`` names."""
    names = sorted(known)
    listed = ", ".join(names[:MAX_LISTED])
    more = f", … ({len(names) - MAX_LISTED} more)" if len(names) > MAX_LISTED else ""
    return f"known: {listed}{more}"

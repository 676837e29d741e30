"""Named secrets: what a name and a value may be, how a secret is kept, and redaction.

A secret's value is only ever kept encrypted (``StoredSecret.ciphertext``); the domain never
sees a key. Redaction replaces every occurrence of the values an attempt used with ``***``
in whatever the attempt leaves behind (output, error, log lines), so a secret that an action
echoes does not reach history, the API or the logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from wfa.domain.secret_forms import secret_forms

SECRET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SECRET_NAME_RULE = "letters, digits and _, starting with a letter or _, at most 128"
MAX_SECRET_LENGTH = 65_536  # characters of a value
REDACTED = "***"


class StoredSecret(msgspec.Struct, frozen=True, kw_only=True):
    """A secret as it is stored: its name, its value encrypted, and when it was set."""

    name: str
    ciphertext: bytes
    created_at: datetime
    updated_at: datetime


def secret_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a secret, or None when it can."""
    if SECRET_NAME.fullmatch(name):  # not match: $ also matches before a final newline
        return None
    return f"{name[:140]!r} is not a valid secret name ({SECRET_NAME_RULE})"


def secret_value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a secret's value, or None when it can."""
    if not value:
        return "a secret's value must not be empty"
    if len(value) > MAX_SECRET_LENGTH:
        return f"a secret's value has at most {MAX_SECRET_LENGTH} characters"
    try:
        value.encode()
    except UnicodeEncodeError:
        return "a secret's value must be valid Unicode text (it holds a lone surrogate)"
    return None


class Redactor:
    """Replaces the given secret values, and every encoded form of them, with ``***``.

    Longer values go first, so a secret that contains another is replaced whole.
    """

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self.add(values)

    def add(self, values: Iterable[str]) -> None:
        for value in values:
            if value:
                self._forms |= secret_forms(value)
        ordered = sorted(self._forms, key=lambda form: (-len(form), form))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """``value`` with every string in it redacted, keys of objects too."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

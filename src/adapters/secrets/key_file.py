"""The embedded database's secret key, kept in a file beside it when WFA_SECRET_KEY is unset.

The file is made once, readable by its owner only (0600), and read on every later start.
Two processes starting at once agree on one key: the key is written to a file of its own
first and then linked into place, which fails for the second, who reads the first's.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from wfa.adapters.secrets.fernet import InvalidSecretKey, generate_key, parse_keys

SUFFIX = ".secret-key"


class KeyFileError(Exception):
    """The key file cannot be made or read: one line naming it."""


def key_file_beside(database: Path) -> Path:
    """Where the key of the database file ``database`` is kept."""
    return database.with_name(database.name + SUFFIX)


def load_or_create_key(path: Path) -> tuple[str, bool]:
    """The key in ``path`` and whether it was made just now."""
    created = False
    if not path.exists():
        created = _create(path)
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise KeyFileError(f"cannot read the secret key file {path}: {error.strerror}") from None
    try:
        parse_keys(text)
    except InvalidSecretKey as error:
        raise KeyFileError(
            f"the secret key file {path} holds no usable key ({error}); restore it from a "
            "backup, or set WFA_SECRET_KEY"
        ) from None
    return text, created


def is_private(path: Path) -> bool:
    """True when neither the group nor others may read the file."""
    return not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)


def _create(path: Path) -> bool:
    draft = path.with_name(f".{path.name}.{os.getpid()}.draft")
    try:
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(generate_key() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(draft, 0o600)  # whatever the umask
        try:
            os.link(draft, path)
        except FileExistsError:
            return False  # another process made it first: its key is the key
        return True
    except OSError as error:
        raise KeyFileError(f"cannot create the secret key file {path}: {error.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            draft.unlink()

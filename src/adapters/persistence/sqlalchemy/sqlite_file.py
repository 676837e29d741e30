"""The embedded database's files are readable by their owner only (0600).

They hold every run's input and output and the sealed secrets. SQLite creates a new database
file under the process umask (0644 as a rule) and gives its ``-wal``, ``-shm`` and
``-journal`` files the database file's own mode, so the database file is made here, empty
and 0600, before SQLite first opens it: its companions follow. A file that already exists
with a wider mode (made by an earlier version, or copied in) is narrowed to 0600 with a
warning; when it cannot be (another owner), the warning says so and the server still starts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("wfa.database")

PRIVATE_MODE = 0o600
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, or None (another database, memory, or a URI filename)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    if parsed.query.get("uri") or parsed.database.startswith("file:"):
        return None  # SQLite reads the name itself; there is no plain path to look after
    return Path(parsed.database)


def make_private(url: str) -> None:
    """Create the database file 0600 if it is missing; narrow it and its companions if wider."""
    path = sqlite_file(url)
    if path is None:
        return
    # A missing folder or a refused create is left to SQLite, which reports it on connecting.
    with contextlib.suppress(FileExistsError, FileNotFoundError, PermissionError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
        os.close(descriptor)
        os.chmod(path, PRIVATE_MODE)  # the umask may have taken the owner's bits too
    for file in (path, *(path.with_name(path.name + s) for s in COMPANION_SUFFIXES)):
        _narrow(file)


def _narrow(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return  # not there (a companion exists only while the database is open)
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return
    try:
        os.chmod(path, PRIVATE_MODE)
    except OSError as error:
        log.warning(
            "the database file %s is readable by others (mode %03o) and cannot be made private: %s",
            path,
            mode,
            error.strerror,
        )
        return
    log.warning("the database file %s was readable by others (mode %03o): made it 0600", path, mode)

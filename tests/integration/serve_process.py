"""``wfa serve`` as a real process on a free port of 127.0.0.1, for the tests that need one.

The server uses an embedded database in the test's folder and the in-process queue (any
``WFA_REDIS_URL`` of the environment is dropped); ``extra`` adds or overrides variables.
Given the ``port`` (and the same folder) a second time, it is the same server restarted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

WFA = str(Path(sys.executable).parent / "wfa")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    folder: Path, key: str, port: int | None = None, **extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server's base URL and process, ready (``/ready`` answered 200); killed after
    unless it has been stopped already."""
    port = port or free_port()
    env = {
        **os.environ,
        "WFA_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'wfa.db'}",
        "WFA_PORT": str(port),
        "WFA_API_KEY": key,
        "WFA_LOG_FORMAT": "json",
        **extra,
    }
    env.pop("WFA_REDIS_URL", None)
    process = subprocess.Popen(
        [WFA, "serve"], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(process.communicate()[0].decode()[-3000:])
    try:
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)

"""A real ``wfa serve`` for the benchmarks: started on a free 127.0.0.1 port, stopped after.

The server runs in one process with the embedded queue and event feed (WFA_REDIS_URL is
dropped), logs JSON into ``serve.log`` in the given folder, and uses a fixed admin key.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

KEY = "bench-key-0123456789abcdef0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {KEY}"}


@dataclass(frozen=True)
class Served:
    base: str
    pid: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def wait_ready(client: httpx.AsyncClient, server: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if server.returncode is not None:
            raise SystemExit("wfa serve exited before it was ready")
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("wfa serve did not become ready")


# The engine's rate is measured, not the limits that guard it: every bench turns them off.
RATE_LIMITS_OFF = {
    "WFA_RATE_LIMIT_HOOKS": "off",
    "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "off",
    "WFA_RATE_LIMIT_API": "off",
}


@asynccontextmanager
async def serving(url: str, folder: Path) -> AsyncIterator[Served]:
    """``wfa serve`` on ``url``, ready to take requests, for as long as the block runs."""
    port = free_port()
    env = {
        **os.environ,
        "WFA_DATABASE_URL": url,
        "WFA_PORT": str(port),
        "WFA_API_KEY": KEY,
        "WFA_LOG_FORMAT": "json",
        **RATE_LIMITS_OFF,
    }
    env.pop("WFA_REDIS_URL", None)  # one process: the embedded queue and feed
    wfa = Path(sys.executable).with_name("wfa")
    log = (folder / "serve.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        str(wfa), "serve", env=env, cwd=folder, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as probe:
            await wait_ready(probe, server)
        yield Served(base=base, pid=server.pid)
    finally:
        server.terminate()
        async with asyncio.timeout(30):
            await server.wait()
        log.close()

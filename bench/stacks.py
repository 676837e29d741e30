"""The two ways wfa is deployed, started for a benchmark and stopped after it.

- ``embedded``: one ``wfa serve`` on its own SQLite file, with the in-process queue, worker,
  scheduler and event feed (``WFA_REDIS_URL`` dropped).
- ``postgres``: ``wfa api``, two ``wfa worker`` and one ``wfa scheduler`` as separate
  processes on one PostgreSQL and one Redis, on a queue of their own.

Both listen on a free 127.0.0.1 port, use a fixed admin key with the rate limits off (the
engine's rate is measured, not the limits that guard it), and log JSON into a folder.
Peak memory is read per process from ``VmHWM`` and reset through ``clear_refs``, so each
scenario reports its own peak (Linux only).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

from wfa.adapters.secrets.fernet import generate_key

KEY = "bench-key-0123456789abcdef0123456789abcdef"
HEADERS = {"Authorization": f"Bearer {KEY}"}
WFA = str(Path(sys.executable).with_name("wfa"))
RATE_LIMITS_OFF = {
    "WFA_RATE_LIMIT_HOOKS": "off",
    "WFA_RATE_LIMIT_HOOKS_PER_ADDRESS": "off",
    "WFA_RATE_LIMIT_API": "off",
}
# One key for every process of a stack, so that they read the same secrets (none are used).
SECRET_KEY = generate_key()


@dataclass(frozen=True)
class Stack:
    mode: str
    base: str
    database_url: str
    processes: dict[str, int]  # role (api, worker-1, ...) to pid
    logs: list[Path]

    def reset_peaks(self) -> None:
        for pid in self.processes.values():
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS

    def peak_rss_mb(self) -> dict[str, float]:
        return {role: _status_kb(pid, "VmHWM") / 1024 for role, pid in self.processes.items()}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each role, by PostgreSQL (the backends connected to this
        stack's database and the server's own processes: WAL writer, checkpointer, ...), by
        Redis (its server, whoever else uses it) and by this load generator: where a
        scenario's two cores went. A backend that exits takes its count with it."""
        used = {role: _cpu_of(pid) for role, pid in self.processes.items()}
        used["postgres"] = sum(map(_cpu_or_zero, self._postgres_pids()))
        used["redis"] = sum(
            _cpu_or_zero(int(entry.name))
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _comm(entry) == "redis-server"
        )
        used["load"] = _cpu_of(os.getpid())
        return used

    def _postgres_pids(self) -> list[int]:
        if self.mode == "embedded":
            return []
        conninfo = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND "
                "(datname = current_database() OR backend_type <> 'client backend')"
            ).fetchall()
        return [row[0] for row in rows]

    def log_count(self, text: str) -> int:
        return sum(log.read_text(errors="replace").count(text) for log in self.logs)


def _cpu_of(pid: int) -> float:
    """User and system CPU seconds of a process, its exited children not counted."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_or_zero(pid: int) -> float:
    try:
        return _cpu_of(pid)
    except (OSError, ValueError, IndexError):
        return 0.0  # it ended while being read


def _comm(entry: Path) -> str:
    try:
        return (entry / "comm").read_text().strip()
    except OSError:
        return ""


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment(database_url: str, port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **os.environ,
        "WFA_DATABASE_URL": database_url,
        "WFA_PORT": str(port),
        "WFA_API_KEY": KEY,
        "WFA_LOG_FORMAT": "json",
        "WFA_SECRET_KEY": SECRET_KEY,
        **RATE_LIMITS_OFF,
        **extra,
    }
    env.pop("WFA_REDIS_URL", None)
    return env


async def _migrate(env: dict[str, str]) -> None:
    done = await asyncio.create_subprocess_exec(WFA, "db", "upgrade", env=env)
    if await done.wait() != 0:
        raise SystemExit("wfa db upgrade failed")


async def _until_ready(port: int, processes: list[asyncio.subprocess.Process]) -> None:
    for _ in range(300):
        if any(process.returncode is not None for process in processes):
            raise SystemExit("a wfa process exited before it was ready")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            status = await reader.readline()
            writer.close()
            if b" 200 " in status:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("wfa did not become ready")


async def _until_running(logs: list[Path]) -> None:
    for _ in range(300):
        if all("wfa running" in log.read_text(errors="replace") for log in logs):
            return
        await asyncio.sleep(0.1)
    raise SystemExit("a wfa process did not start; see " + ", ".join(map(str, logs)))


@asynccontextmanager
async def started(
    mode: str,
    folder: Path,
    *,
    database_url: str = "",
    redis_url: str = "",
    workers: int = 2,
    extra: dict[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """The stack of ``mode`` (embedded or postgres), ready to take requests."""
    port = free_port()
    if mode == "embedded":
        database_url = f"sqlite+aiosqlite:///{folder}/bench.db"
        roles = ["serve"]
        env = _environment(database_url, port, extra or {})
    else:
        queue = f"wfa-bench-{uuid.uuid4().hex[:8]}:jobs"
        roles = ["api", *[f"worker-{n + 1}" for n in range(workers)], "scheduler"]
        env = _environment(database_url, port, {"WFA_QUEUE_NAME": queue, **(extra or {})})
        env["WFA_REDIS_URL"] = redis_url
    await _migrate(env)
    logs = [folder / f"{mode}-{role}.log" for role in roles]
    processes = []
    try:
        for role, log in zip(roles, logs, strict=True):
            command = role.split("-")[0]
            with log.open("wb") as out:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        WFA, command, env=env, cwd=folder, stdout=out, stderr=out
                    )
                )
        # The background roles say when they run; the API answers /ready.
        await _until_running(
            [
                log
                for role, log in zip(roles, logs, strict=True)
                if "-" in role or role == "scheduler"
            ]
        )
        await _until_ready(port, processes)
        yield Stack(
            mode=mode,
            base=f"http://127.0.0.1:{port}",
            database_url=database_url,
            processes={role: p.pid for role, p in zip(roles, processes, strict=True)},
            logs=logs,
        )
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            async with asyncio.timeout(30):
                await process.wait()
        if mode != "embedded":
            with redis.Redis.from_url(redis_url) as client:
                client.delete(env["WFA_QUEUE_NAME"])

"""README's quick start, run as written against ``wfa serve``: each command, and the answer
the README says it gives (``…`` stands for what differs from run to run).

The commands are read from the README itself, so a README whose first example fails makes
this test fail. Only the key, the address and ``<run_id>`` are filled in, as a reader would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from tests.integration.serve_process import WFA, serving

README = Path(__file__).parents[2] / "README.md"
KEY = "wfa_readme_test_key_0123456789abcdef0123"


def quick_start() -> list[tuple[str, str | None]]:
    """The quick start's commands, each with the answer shown under it (if any)."""
    text = README.read_text()
    block = text.split("In another terminal:", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands: list[tuple[str, str | None]] = []
    pending: list[str] = []
    for line in block.strip().splitlines():
        if pending:
            pending.append(line)
            if _complete(pending):
                commands.append(("\n".join(pending), None))
                pending = []
            continue
        if line.startswith("# {") and commands:
            commands[-1] = (commands[-1][0], line.removeprefix("# "))
            continue
        if not line.strip() or line.startswith("#"):
            continue
        pending = [line]
        if _complete(pending):
            commands.append((line, None))
            pending = []
    return commands


def _complete(lines: list[str]) -> bool:
    text = "\n".join(lines)
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote: the command goes on
        return False
    return True


def _matches(shown: str, got: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in shown.split("…"))
    return re.fullmatch(pattern, got.strip()) is not None


def test_the_readme_quick_start_works_as_written(tmp_path: Path) -> None:
    commands = quick_start()
    assert len(commands) >= 5, commands
    # As `make run` does: migrate and seed the examples, then serve.
    env = {**os.environ, "WFA_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'wfa.db'}"}
    for step in (["db", "upgrade"], ["db", "seed"]):
        subprocess.run([WFA, *step], cwd=tmp_path, env=env, check=True, capture_output=True)
    with serving(tmp_path, KEY) as (base, _):
        run_id = None
        for command, shown in commands:
            command = command.replace("http://127.0.0.1:8000", base)
            command = re.sub(r"^KEY=\S+", f"KEY={KEY}", command)
            if "<run_id>" in command:
                assert run_id is not None, "the README uses a run id before it shows one"
                command = command.replace("<run_id>", run_id)
            script = f"KEY={KEY}\nAPI={base}\n{command}"
            done = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
            )
            assert done.returncode == 0, (command, done.stderr)
            if done.stdout.startswith("{"):
                answer = json.loads(done.stdout.splitlines()[0])
                assert "title" not in answer, (command, answer)  # not a problem detail
            if shown is not None:
                assert _matches(shown, done.stdout), (command, shown, done.stdout)
                run_id = json.loads(done.stdout).get("run_id", run_id)
            if "/stream" in command:
                assert "event: run.succeeded" in done.stdout, done.stdout[-500:]
            if command.startswith("curl -s $API/api/v1/runs/"):
                assert json.loads(done.stdout)["status"] in ("running", "waiting", "succeeded")

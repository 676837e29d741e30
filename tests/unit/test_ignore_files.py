"""Files with secrets in them stay out of commits and out of Docker build contexts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PRIVATE = [
    "wfa.db",
    "wfa.db-wal",
    "wfa.db-shm",
    "wfa.db.secret-key",
    ".wfa.db.secret-key.4242.draft",  # the key while it is being made
    "data/wfa.db",
    "data/wfa.db.secret-key",
]


def docker_ignores(path: str) -> bool:
    """Docker's .dockerignore matching: ``*`` stays within a folder, ``**/`` spans any."""
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        parts = re.split(r"(\*\*/|\*|\?)", pattern)
        wild = {"**/": "(?:.*/)?", "*": "[^/]*", "?": "[^/]"}
        regex = "".join(wild.get(part, re.escape(part)) for part in parts)
        if re.fullmatch(regex + "(?:/.*)?", path):
            return True
    return False


@pytest.mark.parametrize("path", PRIVATE)
def test_the_docker_build_context_leaves_out_the_database_and_its_key(path):
    assert docker_ignores(path)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("path", PRIVATE)
def test_git_ignores_the_database_and_its_key(path):
    inside = subprocess.run(["git", "rev-parse"], cwd=ROOT, capture_output=True)
    if inside.returncode != 0:
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=ROOT)
    assert ignored.returncode == 0, f"{path} is not ignored by .gitignore"


def test_sources_are_not_ignored():
    assert not docker_ignores("src/domain/run.py")

"""A taken WFA_PORT stops ``wfa serve`` / ``wfa api`` before the one-time admin key is made."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from wfa.entrypoints.cli import main


@pytest.fixture
def taken_port() -> Iterator[int]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        yield holder.getsockname()[1]
    finally:
        holder.close()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, taken_port: int) -> Path:
    database = tmp_path / "wfa.db"
    for name in ("WFA_API_KEY", "WFA_REDIS_URL", "WFA_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WFA_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("WFA_HOST", "127.0.0.1")
    monkeypatch.setenv("WFA_PORT", str(taken_port))
    return database


def _said_one_line_naming_the_port(capsys: pytest.CaptureFixture[str], port: int) -> None:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"wfa: WFA_PORT: cannot listen on 127.0.0.1:{port}")
    assert "wfa_" not in captured.err + captured.out  # no key was shown


def test_serve_on_a_taken_port_fails_before_any_key_or_database_is_made(
    environment: Path, taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve"]) == 2

    _said_one_line_naming_the_port(capsys, taken_port)
    assert not environment.exists()


def test_api_on_a_taken_port_stores_no_key(
    environment: Path,
    taken_port: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("WFA_REDIS_URL", "redis://127.0.0.1:6379/12")

    assert main(["api"]) == 2

    _said_one_line_naming_the_port(capsys, taken_port)
    with sqlite3.connect(environment) as database:
        assert database.execute("select count(*) from api_keys").fetchone() == (0,)

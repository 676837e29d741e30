"""The client commands pointed at something that is not a wfa server (a proxy that sends
http to https, a static file server) or at a WFA_URL that is not a URL: one line, no
traceback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wfa.entrypoints.cli import main

COMMANDS = [
    ["workflows", "list"],
    ["runs", "list"],
    ["runs", "watch", "r1"],
    ["runs", "show", "r1"],
]


class Redirecting(BaseHTTPRequestHandler):
    """An http -> https proxy in front of the server."""

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", f"https://wfa.example{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class Static(BaseHTTPRequestHandler):
    """``python3 -m http.server`` serving a file at every path."""

    def do_GET(self) -> None:
        body = b"<html><body>not the API</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirecting() -> Iterator[str]:
    yield from serve(Redirecting)


@pytest.fixture
def static() -> Iterator[str]:
    yield from serve(Static)


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    (tmp_path / "a.json").write_text(
        json.dumps({"name": "a", "steps": [{"id": "s", "type": "succeed"}]})
    )
    return tmp_path


def test_a_redirect_is_one_line_saying_where_it_points(
    redirecting, definitions, monkeypatch, capsys
):
    monkeypatch.setenv("WFA_URL", redirecting)
    for command in [*COMMANDS, ["apply", str(definitions)]]:
        assert main(command) == 1, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith(
            f"wfa: the server at WFA_URL={redirecting} answered something that is not the wfa "
            "API (HTTP 301 → https://wfa.example/api/v1/"
        ), err


def test_a_page_that_is_not_json_is_one_line(static, definitions, monkeypatch, capsys):
    monkeypatch.setenv("WFA_URL", static)
    for command in [*COMMANDS, ["apply", str(definitions)]]:
        assert main(command) == 1, command
        err = capsys.readouterr().err
        assert err == (
            f"wfa: the server at WFA_URL={static} answered something that is not the wfa API "
            "(HTTP 200, text/html: not JSON)\n"
        ), command


def test_a_wfa_url_that_is_not_a_url_is_a_usage_error(definitions, monkeypatch, capsys):
    monkeypatch.setenv("WFA_URL", "http://[::1")
    for command in [*COMMANDS, ["apply", str(definitions)]]:
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert err.startswith("wfa: WFA_URL='http://[::1' is not a URL: "), err
        assert err.count("\n") == 1

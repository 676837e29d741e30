"""One ``wfa serve`` per test module for the client commands' tests, and what they share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.serve_process import serving
from wfa.client import Client

KEY = "wfa-cli-tests-admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("server"), KEY) as (base, _):
        yield base


@pytest.fixture
def remote(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The commands pointed at the server with the admin key; it starts with no workflows."""
    monkeypatch.setenv("WFA_URL", server)
    monkeypatch.setenv("WFA_API_KEY", KEY)
    with Client(server, KEY) as client:
        for workflow in list(client.iter_workflows()):
            client.delete_workflow(workflow.id)
        yield client


def raw(server: str, path: str) -> Any:
    """The API's own JSON for a GET, to hold the commands' --json to."""
    response = httpx.get(server + path, headers={"Authorization": f"Bearer {KEY}"})
    response.raise_for_status()
    return response.json()

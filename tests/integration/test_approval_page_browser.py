"""A callback link opened in a real browser (Debian's Chromium): approve, reject, used once.

Screenshots of each page are written to the test's folder (``--basetemp`` keeps them).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.integration.browser import browser_page
from tests.integration.serve_process import serving

KEY = "wfa_browser_test_key_0123456789abcdef0123"
AUTH = {"Authorization": f"Bearer {KEY}"}
# The step posts its link to a chat (a local server here), as a real one would.
ASK = {
    "name": "refund-approval",
    "steps": [
        {
            "id": "ask",
            "type": "task",
            "action": "http.request",
            "params": {
                "method": "POST",
                "url": "{{ input.chat }}",
                "json": {"text": "Refund 250: {{ callback.url }}"},
            },
            "callback": {"timeout": 600},
            "retry": {"max_attempts": 1},
        }
    ],
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with serving(tmp_path, KEY, WFA_HTTP_ALLOW="127.0.0.1") as (base, _):
        yield base


@pytest.fixture
def chat(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/chat", method="POST").respond_with_json({"ok": True})
    return httpserver


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    async with browser_page(720, 560) as opened:
        yield opened


def waiting_run(base: str, chat: HTTPServer) -> tuple[str, str]:
    """A run of ASK waiting for its callback, and the link its step posted to the chat."""
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
        created = client.post("/api/v1/workflows", json=ASK).json()
        start = {"input": {"chat": chat.url_for("/chat")}}
        run_id = client.post(f"/api/v1/workflows/{created['id']}/runs", json=start).json()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if client.get(f"/api/v1/runs/{run_id['run_id']}").json()["status"] == "waiting":
                (request, _), *_ = chat.log
                text: str = request.get_json()["text"]
                return run_id["run_id"], text.removeprefix("Refund 250: ")
            time.sleep(0.05)
    raise AssertionError("the run never waited for its callback")


def run_of(base: str, run_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            run: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}").json()
            if run["status"] in ("succeeded", "failed"):
                return run
            time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end")


async def test_a_person_approves_from_the_link_and_the_run_goes_on(server, chat, page, tmp_path):
    run_id, link = waiting_run(server, chat)
    assert link.startswith(server + "/callbacks/")

    opened = await page.goto(link)
    assert opened is not None
    assert opened.status == 200
    assert await page.locator("h1").inner_text() == "Approve or reject"
    assert "refund-approval" in await page.locator("dl").inner_text()
    await page.screenshot(path=str(tmp_path / "approval-page.png"))
    await page.fill("#note", "ok by me")
    await page.click("button.approve")
    await page.wait_for_selector("text=Thank you")
    assert await page.locator("h1").inner_text() == "Approved"
    await page.screenshot(path=str(tmp_path / "approved.png"))

    run = run_of(server, run_id)
    assert run["status"] == "succeeded"
    assert run["output"] == {"approved": True, "note": "ok by me"}
    again = await page.goto(link)
    assert again is not None
    assert again.status == 409
    assert await page.locator("h1").inner_text() == "This link is no longer open"
    await page.screenshot(path=str(tmp_path / "used.png"))


async def test_a_person_rejects_and_the_step_fails_with_rejected(server, chat, page):
    run_id, link = waiting_run(server, chat)
    await page.goto(link)
    await page.fill("#note", "not eligible")
    await page.click("button.reject")
    await page.wait_for_selector("text=Thank you")
    assert await page.locator("h1").inner_text() == "Rejected"
    run = run_of(server, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {"error": "Rejected", "message": "not eligible"}


async def test_a_forged_link_is_a_page_saying_so(server, page):
    opened = await page.goto(f"{server}/callbacks/not-a-token")
    assert opened is not None
    assert opened.status == 404
    assert await page.locator("h1").inner_text() == "No such link"
    headers = await opened.all_headers()
    assert headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in headers["content-security-policy"]

"""The console at /ui in a real browser (Debian's Chromium) against a real ``wfa serve``.

Sign-in, every page at a desktop and a phone's width (no sideways scrolling, no serious or
critical axe violations), a run's page updating live, and the forms that control runs.
Screenshots go to the test's folder; with ``WFA_SCREENSHOTS=DIR`` the main pages are also
written there (``WFA_SCREENSHOTS=docs/img`` refreshes the README's).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer

from tests.integration.browser import (
    accessibility_violations,
    browser_page,
    horizontal_overflow,
    need_chromium,
)
from tests.integration.serve_process import serving

KEY = "wfa_console_test_key_0123456789abcdef01"
AUTH = {"Authorization": f"Bearer {KEY}"}
SLOW = {  # a step, a wait, a step: long enough to watch, short enough to wait for
    "name": "slow-order",
    "description": "Reserve stock, give the warehouse a moment, then confirm.",
    "steps": [
        {"id": "reserve", "type": "task", "action": "log", "params": {"message": "reserve"}},
        {"id": "pause", "type": "wait", "seconds": 2},
        {"id": "confirm", "type": "task", "action": "sleep", "params": {"seconds": 0.2}},
        {"id": "done", "type": "succeed"},
    ],
}
PARKED = {  # waits a minute for a signal: something to cancel, or to signal
    "name": "approval",
    "steps": [
        {"id": "ask", "type": "task", "action": "log", "params": {"message": "approve?"}},
        {"id": "answer", "type": "await", "signal": "approved", "timeout": 60},
        {"id": "done", "type": "succeed", "output": "{{ steps.answer.output }}"},
    ],
}
CHECKS = {  # branches and a choice, for the graph
    "name": "order-checks",
    "steps": [
        {
            "id": "checks",
            "type": "parallel",
            "branches": [
                {"name": "stock", "steps": [{"id": "look", "type": "task", "action": "noop"}]},
                {"name": "fraud", "steps": [{"id": "score", "type": "task", "action": "noop"}]},
            ],
        },
        {
            "id": "decide",
            "type": "choice",
            "choices": [{"when": "input.total > `100`", "next": "hold"}],
            "default": "accept",
        },
        {"id": "accept", "type": "succeed"},
        {"id": "hold", "type": "fail", "error": "Held"},
    ],
}


def flaky(url: str) -> dict[str, Any]:
    return {
        "name": "flaky-fetch",
        "steps": [
            {
                "id": "fetch",
                "type": "task",
                "action": "http.request",
                "params": {"method": "GET", "url": url},
                "retry": {"max_attempts": 1},
            }
        ],
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    need_chromium()
    folder = tmp_path_factory.mktemp("console")
    with serving(folder, KEY, WFA_HTTP_ALLOW="127.0.0.1") as (base, _):
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            for definition in (SLOW, PARKED, CHECKS):
                assert client.post("/api/v1/workflows", json=definition).status_code == 201
        yield base


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=AUTH, timeout=10)


def start(base: str, workflow: str, run_input: Any = None) -> str:
    with api(base) as client:
        answer = client.post(f"/api/v1/workflows/{workflow}/runs", json={"input": run_input})
        assert answer.status_code == 202, answer.text
        run_id: str = answer.json()["run_id"]
        return run_id


def run_status(base: str, run_id: str) -> str:
    with api(base) as client:
        status: str = client.get(f"/api/v1/runs/{run_id}").json()["status"]
        return status


def wait_for(base: str, run_id: str, *statuses: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if run_status(base, run_id) in statuses:
            return
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} never reached {statuses}: {run_status(base, run_id)}")


async def sign_in(page: Any, base: str, key: str = KEY, at: str = "/ui") -> None:
    await page.goto(base + at)
    await page.fill("#key", key)
    await page.click("main button[type=submit]")
    await page.wait_for_url(lambda url: "/sign-in" not in url)


def shots(tmp_path: Path) -> list[Path]:
    folders = [tmp_path]
    if os.environ.get("WFA_SCREENSHOTS"):
        folders.append(Path(os.environ["WFA_SCREENSHOTS"]))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


async def test_a_bad_key_is_refused_and_a_good_one_opens_the_page_asked_for(server):
    async with browser_page() as page:
        opened = await page.goto(server + "/ui/runs")
        assert opened is not None
        assert "/ui/sign-in" in page.url  # sent to sign in, and back here after
        await page.fill("#key", "wfa_not_a_key_at_all_0000000000000000")
        await page.click("main button[type=submit]")
        assert await page.locator(".problem").inner_text() == (
            "This API key is not valid (unknown or revoked)."
        )
        await page.fill("#key", KEY)
        await page.click("main button[type=submit]")
        await page.wait_for_url(server + "/ui/runs")
        assert await page.locator("h1").inner_text() == "Runs"
        cookie = next(c for c in await page.context.cookies() if c["name"] == "wfa_console")
        assert cookie["httpOnly"]
        assert (cookie["sameSite"], cookie["path"]) == ("Strict", "/ui")
        assert KEY not in cookie["value"]

        await page.click("text=Sign out")
        await page.goto(server + "/ui")
        assert "/ui/sign-in" in page.url


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
async def test_every_page_reads_well_at_desktop_and_phone_width(server, tmp_path, width, height):
    failed = start(server, "order-checks", {"total": 250})
    succeeded = start(server, "order-checks", {"total": 20})
    wait_for(server, failed, "failed")
    wait_for(server, succeeded, "succeeded")
    with api(server) as client:
        client.put("/api/v1/secrets/SHOP_TOKEN", json={"value": "s3cret"})
    pages = {
        "workflows": "/ui",
        "workflow": "/ui/workflows/order-checks",
        "runs": "/ui/runs",
        "run-failed": f"/ui/runs/{failed}",
        "run": f"/ui/runs/{succeeded}",
        "secrets": "/ui/secrets",
        "keys": "/ui/keys",
    }
    folders = shots(tmp_path)
    async with browser_page(width, height, bypass_csp=True) as page:
        await page.goto(server + "/ui/sign-in")
        assert await accessibility_violations(page) == []
        await sign_in(page, server)
        for name, path in pages.items():
            opened = await page.goto(server + path)
            assert opened is not None
            assert opened.status == 200, (name, await page.content())
            assert await horizontal_overflow(page) == 0, name
            assert await accessibility_violations(page) == [], name
            for folder in folders:
                await page.screenshot(path=str(folder / f"console-{name}-{width}.png"))
        # What the pages say, not only that they opened.
        await page.goto(server + f"/ui/runs/{failed}")
        assert "Held" in await page.locator(".error-box").inner_text()
        assert await page.locator("svg.graph text.label", has_text="decide").count() == 1
        await page.goto(server + "/ui/secrets")
        assert "SHOP_TOKEN" in await page.locator("table").inner_text()
        assert "s3cret" not in await page.content()


async def test_every_page_can_be_used_from_the_keyboard(server):
    async with browser_page() as page:
        await page.goto(server + "/ui/sign-in")
        await page.keyboard.type(KEY)  # the key's field has the focus
        await page.keyboard.press("Enter")
        await page.wait_for_url(server + "/ui")
        await page.keyboard.press("Tab")  # the skip link comes first
        assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "main"
        reached = set()
        await page.keyboard.press("Shift+Tab")
        for _ in range(40):
            await page.keyboard.press("Tab")
            reached.add(await page.evaluate("document.activeElement.getAttribute('href')"))
        assert {"/ui/runs", "/ui/keys", "/ui/secrets"} <= reached


async def test_a_running_run_is_shown_live_until_it_ends(server, tmp_path):
    run_id = start(server, "slow-order")
    wait_for(server, run_id, "waiting")
    async with browser_page() as page:
        await sign_in(page, server, at=f"/ui/runs/{run_id}")
        status = page.locator("#live .facts .status")
        assert await status.inner_text() == "waiting"
        assert await page.locator(".t-row").count() == 1  # reserve has run; pause waits
        await page.screenshot(path=str(tmp_path / "live-waiting.png"))
        # Nothing but the page's own script moves it on from here.
        await page.locator("#live .facts .status", has_text="succeeded").wait_for(timeout=15000)
        assert await page.locator(".t-row").count() == 2
        assert run_status(server, run_id) == "succeeded"
        await page.screenshot(path=str(tmp_path / "live-succeeded.png"))


async def test_an_operator_cancels_a_run_and_signals_another(server):
    cancelled, signalled = start(server, "approval"), start(server, "approval")
    wait_for(server, cancelled, "waiting")
    wait_for(server, signalled, "waiting")
    async with browser_page() as page:
        await sign_in(page, server, at=f"/ui/runs/{cancelled}")
        await page.fill("#reason", "customer called")
        await page.click("text=Cancel run")
        await page.wait_for_selector("text=Run cancelled.")
        assert run_status(server, cancelled) == "cancelled"
        assert await page.locator("#live .facts .status").inner_text() == "cancelled"
        assert await page.locator("text=Cancel run").count() == 0

        await page.goto(f"{server}/ui/runs/{signalled}")
        assert await page.input_value("#signal-name") == "approved"  # what the run awaits
        await page.fill("#signal-payload", '{"by": "Ada"}')
        await page.click("text=Send signal")
        await page.wait_for_selector("text=Signal delivered.")
        wait_for(server, signalled, "succeeded")
        with api(server) as client:
            assert client.get(f"/api/v1/runs/{signalled}").json()["output"] == {"by": "Ada"}


async def test_a_failed_run_is_retried_from_its_page(server, httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/stock").respond_with_data("busy", status=503)
    httpserver.expect_request("/stock").respond_with_json({"left": 3})
    with api(server) as client:
        client.post("/api/v1/workflows", json=flaky(httpserver.url_for("/stock")))
    run_id = start(server, "flaky-fetch")
    wait_for(server, run_id, "failed")
    async with browser_page() as page:
        await sign_in(page, server, at=f"/ui/runs/{run_id}")
        assert "503" in await page.locator(".t-error").first.inner_text()
        await page.click("text=Retry from the failed step")
        await page.wait_for_selector("text=Run resumed from its failed step.")
        await page.locator("#live .facts .status", has_text="succeeded").wait_for(timeout=15000)
        assert await page.locator(".t-row").count() == 2  # the failed try and the good one
    assert run_status(server, run_id) == "succeeded"


async def test_a_run_started_from_the_workflow_page_gets_its_input(server):
    async with browser_page() as page:
        await sign_in(page, server, at="/ui/workflows/order-checks")
        await page.fill("#input", '{"total": 12}')
        await page.click("text=Start run")
        await page.wait_for_selector("text=Run started.")
        assert '"total": 12' in await page.locator("#run-input").inner_text()
        run_id = page.url.split("?")[0].rsplit("/", 1)[-1]
        wait_for(server, run_id, "succeeded")

        await page.goto(f"{server}/ui/workflows/order-checks")
        await page.fill("#input", "{not json")
        await page.click("text=Start run")
        assert "not valid JSON" in await page.locator(".problem").inner_text()


async def test_keys_are_made_shown_once_and_revoked_and_a_viewer_only_reads(server):
    async with browser_page() as admin:
        await sign_in(admin, server, at="/ui/keys")
        await admin.fill("#key-name", "dashboard")
        await admin.select_option("#key-scope", "viewer")
        await admin.click("text=Create key")
        viewer_key = await admin.locator("#new-key").inner_text()
        assert viewer_key.startswith("wfa_")

        run_id = start(server, "approval")
        wait_for(server, run_id, "waiting")
        async with browser_page() as viewer:
            await sign_in(viewer, server, key=viewer_key, at=f"/ui/runs/{run_id}")
            assert await viewer.locator("#control-heading").count() == 0
            assert await viewer.locator("text=API keys").count() == 0
            refused = await viewer.goto(f"{server}/ui/keys")
            assert refused is not None
            assert refused.status == 403

            await admin.goto(f"{server}/ui/keys")
            await admin.click("button[aria-label='Revoke key dashboard']")
            await admin.wait_for_selector("text=API key revoked.")
            # Its session ends with it.
            await viewer.goto(f"{server}/ui/runs/{run_id}")
            assert "/ui/sign-in" in viewer.url
        with api(server) as client:
            client.post(f"/api/v1/runs/{run_id}/cancel")


async def test_the_api_documents_itself_in_a_browser_without_fetching_anything_elsewhere(server):
    elsewhere: list[str] = []

    async def local_only(route: Any) -> None:
        if route.request.url.startswith(server):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    async with browser_page() as page:
        await page.route("**/*", local_only)
        opened = await page.goto(server + "/schema")
        assert opened is not None
        assert opened.status == 200
        operation = page.locator(".opblock-summary-path", has_text="/api/v1/runs/{run_id}")
        await operation.first.wait_for(timeout=15000)
        assert await page.locator(".opblock").count() > 20
    assert elsewhere == []

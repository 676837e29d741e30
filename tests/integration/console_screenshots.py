"""Make the console screenshots that README.md shows, from the seeded examples.

    .venv/bin/python -m tests.integration.console_screenshots docs/img

Starts ``wfa serve`` on an empty embedded database, seeds the examples as ``make run`` does,
starts a few runs (a card charged after two busy tries, one that runs out of tries, one
with branches) and photographs the pages a newcomer sees first, in Debian's Chromium.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.integration.browser import browser_page
from tests.integration.serve_process import WFA, serving

KEY = "wfa_screenshot_key_0123456789abcdef012345"
AUTH = {"Authorization": f"Bearer {KEY}"}


def start(client: httpx.Client, workflow: str, run_input: object) -> str:
    answer = client.post(f"/api/v1/workflows/{workflow}/runs", json={"input": run_input})
    answer.raise_for_status()
    run_id: str = answer.json()["run_id"]
    return run_id


def wait_until(client: httpx.Client, run_id: str, *statuses: str) -> None:
    deadline = time.monotonic() + 30
    while client.get(f"/api/v1/runs/{run_id}").json()["status"] not in statuses:
        if time.monotonic() > deadline:
            raise SystemExit(f"run {run_id} never reached {statuses}")
        time.sleep(0.1)


async def photograph(base: str, out: Path, runs: dict[str, str]) -> None:
    async with browser_page(1280, 820) as page:
        await page.goto(f"{base}/ui/sign-in")
        await page.fill("#key", KEY)
        await page.click("main button[type=submit]")
        await page.wait_for_url(f"{base}/ui")
        await page.screenshot(path=str(out / "console-workflows.png"))
        await page.goto(f"{base}/ui/workflows/order-checks")
        await page.screenshot(path=str(out / "console-workflow.png"))
        await page.goto(f"{base}/ui/runs/{runs['retrying']}")
        await page.screenshot(path=str(out / "console-run-live.png"), full_page=True)
        await page.goto(f"{base}/ui/runs/{runs['failed']}")
        await page.screenshot(path=str(out / "console-run-failed.png"), full_page=True)
        await page.goto(f"{base}/ui/runs")
        await page.screenshot(path=str(out / "console-runs.png"))
    async with browser_page(390, 780) as phone:
        await phone.goto(f"{base}/ui/sign-in")
        await phone.fill("#key", KEY)
        await phone.click("main button[type=submit]")
        await phone.goto(f"{base}/ui/runs/{runs['succeeded']}")
        await phone.screenshot(path=str(out / "console-run-phone.png"))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder, serving(Path(folder), KEY) as (base, _):
        env = {**os.environ, "WFA_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/wfa.db"}
        subprocess.run([WFA, "db", "seed"], env=env, check=True, capture_output=True)
        with httpx.Client(base_url=base, headers=AUTH, timeout=10) as client:
            runs = {
                "succeeded": start(client, "charge-card", {"busy_tries": 2}),
                "failed": start(client, "charge-card", {"busy_tries": 9}),
            }
            start(client, "hello-world", {"name": "Ada"})
            start(client, "order-checks", {"total": 250})
            start(client, "order-checks", {"total": 40})
            wait_until(client, runs["succeeded"], "succeeded")
            wait_until(client, runs["failed"], "failed")
            runs["retrying"] = start(client, "charge-card", {"busy_tries": 3})
            time.sleep(3.3)  # its second retry is under way: a run caught in the act
        asyncio.run(photograph(base, out, runs))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))

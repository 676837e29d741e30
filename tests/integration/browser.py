"""A real browser for the tests of web pages: Debian's Chromium driven by Playwright.

Playwright's own browser download is not reachable from CI, so the system's Chromium is
launched by path (``.ci/run`` installs it). Without it the tests are skipped with the reason,
or fail when ``WFA_REQUIRE_SERVICES=1`` says everything must run.

``accessibility_violations`` runs axe-core (shipped in the axe-playwright-python wheel, so
nothing is fetched) in the page and returns its serious and critical findings.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
MISSING = "/usr/bin/chromium is missing (apt-get install chromium)"


def need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("WFA_REQUIRE_SERVICES") == "1":
        pytest.fail(MISSING)
    pytest.skip(MISSING)


@asynccontextmanager
async def browser_page(
    width: int = 1280, height: int = 900, *, bypass_csp: bool = False
) -> AsyncIterator[Any]:
    """A fresh page (its own cookies) in a fresh browser. ``bypass_csp``: let a test inject
    a script (axe) that the pages' Content-Security-Policy would rightly refuse."""
    need_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            context = await browser.new_context(
                viewport={"width": width, "height": height}, bypass_csp=bypass_csp
            )
            yield await context.new_page()
        finally:
            await browser.close()


def _axe_script() -> Path:
    import axe_playwright_python

    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


async def accessibility_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each (the page's
    context must bypass its CSP to take the script)."""
    await page.add_script_tag(path=str(_axe_script()))
    result = await page.evaluate("async () => await axe.run(document)")
    return [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


async def horizontal_overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: nothing to scroll sideways)."""
    width: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width

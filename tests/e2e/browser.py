"""Browser helpers shared by the end-to-end tests (Debian's Chromium, /usr/bin/chromium; no tests here)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from playwright.async_api import Browser, Page

from tests.e2e.handoff_harness import DESK

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


async def launch(playwright: Any) -> Browser:
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


async def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    """Sign in to the agent desk and land on the desk page."""
    await page.goto(f"{base_url}{DESK}/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base_url}{DESK}/desk")


async def write(page: Page, text: str) -> None:
    """Type ``text`` into the web-chat page and send it."""
    await page.fill("#majlis-input", text)
    await page.press("#majlis-input", "Enter")

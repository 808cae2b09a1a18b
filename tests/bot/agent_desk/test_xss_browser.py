"""Customer text is never interpreted as HTML: hostile names and messages, Arabic and English,
rendered by the real desk in headless Chromium."""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.bot.agent_desk.conftest import PASSWORDS, serve_desk, user_event
from tests.e2e.browser import launch
from tests.e2e.handoff_harness import DESK, artifact

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img-en'\">",
    "طلبي ما وصل <img src=x onerror=\"window.__xss = 'img-ar'\"> ضروري",
    "<svg onload=\"window.__xss = 'svg'\"></svg> مرحبا",
]


async def test_hostile_text_is_shown_as_text(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        events = [user_event(text, name="<img src=x onerror=\"window.__xss = 'name'\"> عبدالله",
                             entities=[{"entity": "order_number", "value": "<b onmouseover=alert(1)>42</b>"}])
                  for text in PAYLOADS]
        events.append({"event": "bot", "text": "<script>window.__xss = 'bot'</script>", "timestamp": 2e9})
        record = await desk.create_handoff("c-xss", events=events,
                                           facts={"order_number": "<img src=x onerror=\"window.__xss='fact'\">"},
                                           wants="<script>window.__xss='wants'</script>")
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            try:
                await page.goto(desk.url("/login"))
                await page.fill("input[name=email]", "noura@example.com")
                await page.fill("input[name=password]", PASSWORDS["noura@example.com"])
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{desk.base_url}{DESK}/desk")
                await page.locator("#queue-list li").first.click()
                await expect(page.locator("#transcript li")).to_have_count(len(PAYLOADS) + 1)
                for text in PAYLOADS:
                    await expect(page.locator("#transcript")).to_contain_text(text)
                await expect(page.locator("#ctx-name")).to_contain_text("<img src=x")
                await page.screenshot(path=str(artifact("xss-shown-as-text.png")), full_page=True)
                assert await page.evaluate("window.__xss") is None
                assert await page.locator("#transcript img, #transcript script, #transcript svg, "
                                          "#context-card img, #queue-list img").count() == 0
                assert dialogs == []
                assert record.public_id
            finally:
                await browser.close()

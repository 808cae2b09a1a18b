"""Customer text is never interpreted as HTML: hostile names, messages, entities and stored
context, Arabic and English, rendered by the real desk in headless Chromium.

The desk's CSP already blocks inline scripts and event handlers, so "no script ran" cannot
tell ``textContent`` from ``innerHTML``.  The test therefore checks the DOM itself: every
hostile input is on the page as text, and no element node was made from any of them (no
``<b>``, ``<i>``, ``<img>``, ``<svg>``, ``<script>`` inside the queue, the context card or
the transcript, and no element there carries an ``on…`` attribute).
"""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from tests.bot.agent_desk.conftest import PASSWORDS, serve_desk, user_event
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import artifact

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss = 'img-en'\">",
    "طلبي ما وصل <img src=x onerror=\"window.__xss = 'img-ar'\"> ضروري",
    "<svg onload=\"window.__xss = 'svg'\"></svg> مرحبا",
]
NAME = "<img src=x onerror=\"window.__xss = 'name'\"> عبدالله"
ENTITY = "<b onmouseover=alert(1)>42</b>"                       # → context card facts and summary
STORED_FACT = "<i onmouseover=alert(2)>رقم</i> 9"              # → the queue row's facts line
STORED_WANTS = "<b onclick=alert(3)>refund</b> <script>window.__xss='wants'</script>"  # → the queue row's title (label)
STORED_SUMMARY = "<i onmouseover=alert(4)>ملخص</i> <b>urgent</b>"  # → the queue row's preview

#: Where the desk shows text from outside; no element inside may come from that text.
REGIONS = ("#queue-list", "#context-card", "#transcript")
INJECTED = ", ".join(f"{region} {tag}" for region in REGIONS for tag in ("b", "i", "img", "svg", "script", "iframe"))
HANDLER_ATTRIBUTES = """(selectors) => selectors.flatMap((s) => [...document.querySelectorAll(s + ' *')])
    .flatMap((node) => [...node.attributes].map((a) => a.name)).filter((name) => name.startsWith('on'))"""


async def test_hostile_text_is_shown_as_text(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        events = [user_event(text, name=NAME, entities=[{"entity": "order_number", "value": ENTITY}])
                  for text in PAYLOADS]
        events.append({"event": "bot", "text": "<script>window.__xss = 'bot'</script>", "timestamp": 2e9})
        record = await desk.create_handoff("c-xss", events=events, facts={"order_number": STORED_FACT},
                                           wants="refund", wants_label={"en": STORED_WANTS, "ar": STORED_WANTS},
                                           summary={"ar": STORED_SUMMARY, "en": STORED_SUMMARY})
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            try:
                await sign_in(page, desk.base_url, "noura@example.com", PASSWORDS["noura@example.com"])
                row = page.locator("#queue-list li").first
                await expect(row.locator(".intent")).to_contain_text(STORED_WANTS)
                await expect(row.locator(".facts-line")).to_have_text(f"order_number: {STORED_FACT}")
                await expect(row.locator(".preview")).to_have_text(STORED_SUMMARY)
                await row.click()
                await expect(page.locator("#transcript li")).to_have_count(len(PAYLOADS) + 1)
                for text in PAYLOADS:
                    await expect(page.locator("#transcript")).to_contain_text(text)
                await expect(page.locator("#transcript")).to_contain_text("<script>window.__xss = 'bot'</script>")
                await expect(page.locator("#ctx-name")).to_have_text(NAME)
                await expect(page.locator("#ctx-facts dd.fact-order_number")).to_have_text(ENTITY)
                await expect(page.locator("#ctx-summary-en")).to_contain_text(ENTITY)
                await expect(page.locator("#ctx-summary-ar")).to_contain_text(ENTITY)
                await page.screenshot(path=str(artifact("xss-shown-as-text.png")), full_page=True)

                assert await page.locator(INJECTED).count() == 0, "an element was made from customer text"
                assert await page.evaluate(HANDLER_ATTRIBUTES, list(REGIONS)) == []
                assert await page.evaluate("window.__xss") is None
                assert dialogs == []
                assert record.public_id
            finally:
                await browser.close()

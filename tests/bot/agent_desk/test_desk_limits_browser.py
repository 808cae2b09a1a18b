"""In headless Chromium: the sign-in page says when sign-in is throttled; the queue is paged with a total."""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from bot.agent_desk.throttle import ACCOUNT_LIMIT
from tests.bot.agent_desk.conftest import PASSWORDS, serve_desk
from tests.bot.agent_desk.test_queue_pages import flood
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import artifact

pytestmark = pytest.mark.browser


async def test_the_sign_in_page_says_to_wait_after_too_many_wrong_passwords(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            page = await browser.new_page()
            try:
                for attempt in range(ACCOUNT_LIMIT.free):
                    await page.goto(desk.url("/login"))
                    await page.fill("input[name=email]", "noura@example.com")
                    await page.fill("input[name=password]", f"wrong-guess-{attempt:04d}")
                    await page.click("button[type=submit]")
                    await expect(page.locator(".error")).to_contain_text("Wrong email or password")
                await page.goto(desk.url("/login"))
                await page.fill("input[name=email]", "noura@example.com")
                await page.fill("input[name=password]", PASSWORDS["noura@example.com"])
                async with page.expect_response(lambda r: r.request.method == "POST") as posted:
                    await page.click("button[type=submit]")
                assert (await posted.value).status == 429
                await expect(page.locator(".error")).to_contain_text("Too many sign-in attempts; try again in")
                await expect(page.locator(".error")).to_contain_text("محاولات دخول كثيرة")
                assert page.url.endswith("/login"), "the right password must not get in during the backoff"
                await page.screenshot(path=str(artifact("sign-in-throttled.png")), full_page=True)
            finally:
                await browser.close()


async def test_the_queue_is_paged_and_spam_elsewhere_does_not_hide_an_agents_handoff(tmp_path) -> None:
    async with serve_desk(tmp_path) as desk:
        await flood(desk, 120)
        real = await desk.create_handoff("971500000123", queue="general", language="ar")
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            try:
                supervisor = await browser.new_page()
                await sign_in(supervisor, desk.base_url, "sup@example.com", PASSWORDS["sup@example.com"])
                await expect(supervisor.locator("#queue-count")).to_have_text("121")
                await expect(supervisor.locator("#queue-page")).to_have_text("1–50 / 121")
                await expect(supervisor.locator("#queue-list li")).to_have_count(50)
                await expect(supervisor.locator("#queue-prev")).to_be_disabled()
                await supervisor.click("#queue-next")
                await expect(supervisor.locator("#queue-page")).to_have_text("51–100 / 121")
                await supervisor.click("#queue-next")
                await expect(supervisor.locator("#queue-page")).to_have_text("101–121 / 121")
                await expect(supervisor.locator("#queue-list li")).to_have_count(21)
                await expect(supervisor.locator("#queue-next")).to_be_disabled()
                await expect(supervisor.locator(f'#queue-list li[data-id="{real.public_id}"]')).to_have_count(1)
                await supervisor.screenshot(path=str(artifact("queue-last-page.png")), full_page=True)
                agent = await browser.new_page()
                await sign_in(agent, desk.base_url, "noura@example.com", PASSWORDS["noura@example.com"])
                await expect(agent.locator("#queue-count")).to_have_text("1")
                await expect(agent.locator("#queue-list li")).to_have_count(1)
                await expect(agent.locator(f'#queue-list li[data-id="{real.public_id}"]')).to_have_count(1)
            finally:
                await browser.close()

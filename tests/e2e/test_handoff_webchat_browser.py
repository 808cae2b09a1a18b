"""End to end in headless Chromium: web-chat customer ↔ bot ↔ Arabic-speaking agent ↔ bot.

The web-chat twin of test_handoff_browser.py (WhatsApp).  A customer on the web chat
page writes Gulf Arabic and asks for a person; an Arabic-speaking agent signs in to
the desk (another browser context: its own cookies and storage), sees the
conversation in the queue, takes it and replies; the reply appears on the customer's
page; the customer's next message appears live on the desk while the bot stays
silent; the agent closes; the hand-back message appears on the page and the bot
answers the customer's next message again.  Screenshots: test-artifacts/handoff-webchat/.
"""
from __future__ import annotations

import pytest
import regex
from playwright.async_api import Page, async_playwright, expect

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine, migrate
from tests.conftest import free_port
from tests.e2e.browser import launch, sign_in, write
from tests.e2e.handoff_harness import artifact, served_webchat

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARABIC = regex.compile(r"\p{Arabic}")
EMAIL = "noura@example.com"
PASSWORD = "noura-desk-pass-1"
FOLDER = "handoff-webchat"
BOT = "#majlis-log .msg.bot"


def shot(name: str) -> str:
    return str(artifact(name, FOLDER))


async def bot_texts(page: Page) -> list:
    return [text.strip() for text in await page.locator(BOT).all_text_contents()]


async def test_webchat_customer_agent_and_bot_take_turns(majlis_agent, tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email=EMAIL, password=PASSWORD, role="agent", languages=["ar"],
                          queues=["general", "billing", "orders", "complaints"], display_name="Noura")
    accounts.shutdown()
    port = free_port()

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        # Separate contexts: the customer's session (localStorage) and the agent's cookie never mix.
        chat = await (await browser.new_context(viewport={"width": 480, "height": 800}, locale="ar")).new_page()
        desk = await (await browser.new_context(viewport={"width": 1400, "height": 900}, locale="ar")).new_page()
        try:
            async with served_webchat(majlis_agent, engine, port) as majlis:
                await chat.goto(majlis.chat_url)
                await chat.wait_for_selector("#majlis-status.online", timeout=15000)

                # The bot answers first; then the customer asks for a person, in Gulf Arabic.
                await write(chat, "السلام عليكم، طلبي رقم 4821937 للحين ما وصلني")
                await chat.locator(BOT).first.wait_for(timeout=60000)
                await majlis.settle()
                bot_turns = await chat.locator(BOT).count()
                await write(chat, "أبي أكلم موظف")
                await expect(chat.locator(BOT).nth(bot_turns)).to_be_visible(timeout=60000)
                await majlis.settle()
                ack = (await bot_texts(chat))[bot_turns:]
                assert ack and "ترتيبك" in ack[-1], f"expected the Arabic queue acknowledgement, got {ack!r}"
                await chat.screenshot(path=shot("1-customer-asks-for-a-person.png"), full_page=True)

                await sign_in(desk, majlis.base_url, EMAIL, PASSWORD)
                first = desk.locator("#queue-list li").first
                await expect(first).to_contain_text("4821937", timeout=20000)
                await first.click()
                await expect(desk.locator("#ctx-channel")).to_contain_text("webchat")
                await expect(desk.locator("#ctx-facts")).to_contain_text("4821937")
                await expect(desk.locator("#ctx-summary-ar")).to_contain_text("سبب التحويل")
                await desk.screenshot(path=shot("2-desk-queue-and-context.png"), full_page=True)

                await desk.click("#claim")
                await expect(desk.locator("#ctx-state")).to_contain_text("assigned")
                shown_before = await chat.locator(BOT).count()
                reply = "هلا والله، معك نورة. بتأكد لك من طلب 4821937 الحين"
                await desk.fill("#reply-text", reply)
                await desk.click("#send")
                # On the customer's page, as the next message; delivered (✓) on the desk.
                await expect(chat.locator(BOT).nth(shown_before)).to_have_text(reply, timeout=20000)
                await expect(desk.locator(".turn-agent .tick").last).to_contain_text("✓", timeout=15000)
                # Claiming announced the agent on the customer's page.
                await expect(chat.locator("#majlis-log .notice", has_text="انضم إليك موظف")).to_have_count(1)

                # The customer writes again: live on the desk, and the bot says nothing.
                await write(chat, "طيب متى بيوصل؟ ضروري اليوم")
                await expect(desk.locator("#transcript")).to_contain_text("متى بيوصل", timeout=20000)
                await majlis.settle()
                await chat.wait_for_timeout(500)
                assert await chat.locator(BOT).count() == shown_before + 1, \
                    f"the bot spoke while the agent owned: {(await bot_texts(chat))[shown_before:]!r}"
                await chat.screenshot(path=shot("3-customer-sees-agent-reply.png"), full_page=True)
                await desk.screenshot(path=shot("4-desk-live-message.png"), full_page=True)

                # The agent closes: the hand-back message reaches the page, then the bot answers again.
                await desk.select_option("#resolution", "resolved")
                await desk.click("#close")
                await expect(chat.locator(BOT, has_text="رجعتك للمساعد")).to_have_count(1, timeout=20000)
                await expect(chat.locator("#majlis-log .notice", has_text="عدت إلى المساعد")).to_have_count(1)
                await desk.screenshot(path=shot("5-desk-closed.png"), full_page=True)
                count = await chat.locator(BOT).count()
                await write(chat, "كم فاتورتي هالشهر؟")
                await expect(chat.locator(BOT).nth(count)).to_be_visible(timeout=60000)
                await majlis.settle()
                after = (await bot_texts(chat))[count:]
                assert after and ARABIC.search(after[0]), f"expected the bot's Arabic answer, got {after!r}"
                await chat.screenshot(path=shot("6-bot-answers-again.png"), full_page=True)
        finally:
            await browser.close()
    engine.dispose()

"""End to end in headless Chromium: WhatsApp customer ↔ bot ↔ Arabic-speaking agent ↔ bot.

A customer writes Gulf Arabic on the fake WhatsApp Cloud API and asks for a person;
an Arabic-speaking agent signs in to the desk, sees the conversation at the top of
the queue with its context card, takes it and replies; the reply reaches the fake
Graph API; the customer's next message appears live on the desk while the bot stays
silent, also after a restart of the server; the agent closes; the bot answers the
customer's next message again.  Screenshots: test-artifacts/handoff/.
"""
from __future__ import annotations

import pytest
import regex
from playwright.async_api import async_playwright, expect

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine, migrate
from tests.conftest import free_port
from tests.e2e.browser import launch, sign_in, wait_until
from tests.e2e.handoff_harness import artifact, served_majlis, texts_to
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ARABIC = regex.compile(r"\p{Arabic}")
CUSTOMER = "971501110001"
PASSWORD = "noura-desk-pass-1"


async def test_customer_agent_and_bot_take_turns(majlis_agent, fake_graph: FakeGraph, tmp_path) -> None:  # noqa: F811
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="noura@example.com", password=PASSWORD, role="agent", languages=["ar"],
                          queues=["general", "billing", "orders", "complaints"], display_name="Noura")
    accounts.shutdown()
    port = free_port()

    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ar")
        try:
            async with served_majlis(majlis_agent, engine, fake_graph.url, port) as majlis:
                customer = majlis.customer(CUSTOMER)
                # The bot answers first; then the customer asks for a person, in Gulf Arabic.
                await customer.say("السلام عليكم، طلبي رقم 4821937 للحين ما وصلني")
                await majlis.settle()
                bot_turns = len(texts_to(fake_graph, CUSTOMER))
                assert bot_turns >= 1, "the bot did not answer"
                await customer.say("أبي أكلم موظف لو سمحت")
                await majlis.settle()
                ack = texts_to(fake_graph, CUSTOMER)[bot_turns:]
                assert ack and "ترتيبك" in ack[-1], f"expected the Arabic queue acknowledgement, got {ack!r}"

                await sign_in(page, majlis.base_url, "noura@example.com", PASSWORD)
                first = page.locator("#queue-list li").first
                await expect(first).to_contain_text("4821937", timeout=20000)
                await first.click()
                await expect(page.locator("#ctx-facts")).to_contain_text("4821937")
                # The card names what the customer wants in words, in both languages, never by identifier.
                await expect(page.locator("#ctx-intent")).to_contain_text("حالة الطلب")
                await expect(page.locator("#ctx-intent")).to_contain_text("order status")
                card = await page.locator("#ctx-summary-ar").inner_text() + await page.locator("#ctx-intent").inner_text()
                assert not regex.search(r"[a-z]+_[a-z_]+", card), f"an internal identifier on the card: {card!r}"
                await expect(page.locator("#queue-list li").first).to_contain_text("حالة الطلب")
                await expect(page.locator("#ctx-summary-ar")).to_contain_text("سبب التحويل")
                await expect(page.locator("#ctx-summary-en")).to_contain_text("asked for a person")
                await page.screenshot(path=str(artifact("1-queue-and-context.png")), full_page=True)

                await page.click("#claim")
                await expect(page.locator("#ctx-state")).to_contain_text("assigned")
                sent_before = len(texts_to(fake_graph, CUSTOMER))
                reply = "هلا والله، معك نورة. بتأكد لك من طلب 4821937 الحين"
                await page.fill("#reply-text", reply)
                await page.click("#send")
                await wait_until(lambda: reply in texts_to(fake_graph, CUSTOMER), what="the agent's reply at Graph")
                await expect(page.locator(".turn-agent .tick").last).to_contain_text("✓", timeout=15000)

                # The customer writes again: live on the desk, and the bot says nothing.
                await customer.say("طيب متى بيوصل؟ ضروري اليوم")
                await majlis.settle()
                await expect(page.locator("#transcript")).to_contain_text("متى بيوصل", timeout=15000)
                assert len(texts_to(fake_graph, CUSTOMER)) == sent_before + 1, "the bot spoke while the agent owned"
                await page.screenshot(path=str(artifact("2-reply-and-live-message.png")), full_page=True)

            # Restart: new server, channels and desk on the same database. The bot stays silent.
            async with served_majlis(majlis_agent, engine, fake_graph.url, port) as majlis:
                customer = majlis.customer(CUSTOMER)
                await customer.say("هلا؟ في أحد؟")
                await majlis.settle()
                assert len(texts_to(fake_graph, CUSTOMER)) == sent_before + 1, "the bot spoke after the restart"
                await page.reload()
                await page.locator("#mine-list li").first.click()
                await expect(page.locator("#transcript")).to_contain_text("في أحد", timeout=15000)

                await page.select_option("#resolution", "resolved")
                await page.click("#close")
                handback = "رجعتك للمساعد"
                try:
                    await wait_until(lambda: any(handback in t for t in texts_to(fake_graph, CUSTOMER)),
                                     what="the Arabic hand-back message")
                except AssertionError:
                    records = await majlis.whatsapp.delivery.outbox_records(CUSTOMER)
                    status = await page.locator("#composer-status").text_content()
                    raise AssertionError(f"no hand-back; desk said {status!r}; outbox "
                                         f"{[(r.message.idempotency_key, r.state, r.error_message) for r in records]}")
                await page.screenshot(path=str(artifact("3-closed.png")), full_page=True)
                count = len(texts_to(fake_graph, CUSTOMER))
                await customer.say("كم فاتورتي هالشهر؟")
                await majlis.settle()
                after = texts_to(fake_graph, CUSTOMER)[count:]
                assert after and ARABIC.search(after[0]), f"expected the bot's Arabic answer, got {after!r}"
        finally:
            await browser.close()
    engine.dispose()

"""In headless Chromium: a WhatsApp reaction in a handed-off conversation appears in the agent's
transcript, live, and the bot never answers it.

The reaction is pywa's recorded ``message__reaction.json`` (tests/fixtures/whatsapp, see
SOURCES.md) with a fresh sender, id, timestamp and emoji.
"""
from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine, migrate
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID
from tests.conftest import free_port
from tests.e2e.browser import launch, sign_in
from tests.e2e.handoff_harness import artifact, served_majlis, texts_to
from tests.e2e.test_messages_without_text import recorded
from tests.fakes.fake_customer import envelope
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CUSTOMER = "971501230099"
PASSWORD = "huda-desk-pass-1"


async def test_a_reaction_shows_in_the_desk_and_is_never_answered(majlis_agent, fake_graph: FakeGraph,
                                                                  tmp_path) -> None:  # noqa: F811
    engine = create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="huda@example.com", password=PASSWORD, role="agent", languages=["ar"],
                          queues=["general", "billing", "orders", "complaints"], display_name="Huda")
    accounts.shutdown()
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        page = await browser.new_page(viewport={"width": 1400, "height": 900}, locale="ar")
        try:
            async with served_majlis(majlis_agent, engine, fake_graph.url, free_port()) as majlis:
                customer = majlis.customer(CUSTOMER)
                await customer.say("أبي أكلم موظف لو سمحت")
                await majlis.settle()
                await sign_in(page, majlis.base_url, "huda@example.com", PASSWORD)
                await page.locator("#queue-list li").first.click()
                await page.click("#claim")
                await expect(page.locator("#ctx-state")).to_contain_text("assigned")
                answered = len(texts_to(fake_graph, CUSTOMER))
                reaction = recorded("message__reaction.json", CUSTOMER,
                                    reaction={"message_id": "wamid.agent-reply", "emoji": "🙏"})
                await customer.post(envelope([reaction], phone_number_id=PHONE_NUMBER_ID))
                await majlis.settle()
                await expect(page.locator(".turn-reaction")).to_contain_text("🙏", timeout=15000)
                await page.screenshot(path=str(artifact("reaction-in-desk.png")), full_page=True)
                assert len(texts_to(fake_graph, CUSTOMER)) == answered, "the bot answered a reaction"
        finally:
            await browser.close()

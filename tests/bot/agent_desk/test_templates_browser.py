"""Templates after the window in headless Chromium: the agent picks an approved WhatsApp template,
sees its parameters filled from the conversation's context, edits one and sends it; the fake
Graph API receives exactly that template.  A free-form reply after the window is refused with
the reason, and nothing reaches the Graph API for it.  Templates: the shipped whatsapp_templates.yml.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, List

import pytest
from playwright.async_api import expect

from bot.delivery import DeliveryStore
from bot.delivery.types import InboundItem
from channels.whatsapp_cloud.channel import WhatsAppCloudInput
from tests.bot.agent_desk.conftest import serve_desk, user_event
from tests.bot.agent_desk.test_assignment_browser import ACCOUNT, agent_page, chromium
from tests.channels.whatsapp_harness import settings as whatsapp_settings
from tests.e2e.handoff_harness import artifact
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser]

CUSTOMER = "971500000601"


async def test_an_agent_sends_a_template_after_the_window(tmp_path, fake_graph: FakeGraph) -> None:  # noqa: F811
    def whatsapp(engine: Any) -> List[Any]:
        return [WhatsAppCloudInput(whatsapp_settings(fake_graph.url), store=DeliveryStore(engine))]

    async with serve_desk(tmp_path, channels=whatsapp) as desk:
        now = datetime.now(timezone.utc)
        store = desk.app.registry.delivery("whatsapp_cloud").store
        # The customer last wrote 25 hours ago: the 24-hour window is closed.
        await store.accept([InboundItem(channel="whatsapp_cloud", message_id="wamid.t1", account=ACCOUNT,
                                        customer=CUSTOMER, sent_at=now - timedelta(hours=25))], now)
        events = [user_event("وين طلبي رقم ORD-4821937؟", intent="order_status", name="مريم"),
                  {"event": "slot", "name": "order_number", "value": "ORD-4821937",
                   "timestamp": now.timestamp()}]
        record = await desk.create_handoff(CUSTOMER, events=events)
        async with chromium() as browser:
            page = await agent_page(browser, desk, "noura@example.com")
            await page.click(f'#queue-list li[data-id="{record.public_id}"]')
            await page.click("#claim")
            await expect(page.locator("#ctx-state")).to_contain_text("assigned")

            # Free-form after the window: refused at once, with the reason, nothing sent.
            await page.fill("#reply-text", "مرحبا مريم، معك نورة")
            await page.click("#send")
            await expect(page.locator("#transcript")).to_contain_text("24-hour WhatsApp window closed")
            assert fake_graph.messages(outcome=None) == []

            picker = page.locator("#template-picker")
            await expect(picker).to_be_visible()
            await expect(picker).to_contain_text("approved templates only")
            await page.select_option("#template-choice", "order_followup:ar")
            fields = page.locator("#template-picker input")
            await expect(fields).to_have_count(3)
            # Filled from the context: the customer's name, the agent's, the order number (slot).
            assert [await f.input_value() for f in await fields.all()] == ["مريم", "Noura", "ORD-4821937"]
            await fields.nth(0).fill("مريم أحمد")  # the agent corrects the name
            await expect(page.locator("#template-preview")).to_contain_text("مرحباً مريم أحمد، معك Noura")
            await page.click("#template-send")

            [sent] = await fake_graph.wait_for(1, timeout=60)
            assert sent.json == {
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER, "type": "template",
                "template": {"name": "order_followup", "language": {"code": "ar"}, "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "مريم أحمد"},
                                                    {"type": "text", "text": "Noura"},
                                                    {"type": "text", "text": "ORD-4821937"}]}]}}
            await expect(page.locator("#transcript")).to_contain_text("بخصوص طلبك رقم ORD-4821937")
            await page.screenshot(path=str(artifact("template-after-window.png", "templates")), full_page=True)

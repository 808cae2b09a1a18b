"""A WhatsApp customer is who Meta's signature says: their own bill, no verification step.

Signed webhooks (tests/fakes/fake_customer.py) through the real WhatsApp Cloud channel,
the trained model and the action server; replies recorded by the fake Graph API.  The
sender id the bot sees is ``whatsapp_cloud:<wa_id>``; the reply goes to the bare number.
"""
from __future__ import annotations

import pytest

from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID, make_channel, running_channel, settings, text_of
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e


async def test_a_whatsapp_customer_gets_their_own_bill_and_orders(majlis_agent, fake_graph):  # noqa: F811
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, majlis_agent) as running:
        customer = FakeCustomer(running.url(), APP_SECRET, PHONE_NUMBER_ID, sender="971500000001")
        assert (await customer.say("What's my bill this month?"))[0] == 200
        await fake_graph.wait_for(1, timeout=60)
        await channel.delivery.drain(timeout=60)
        bill = [text_of(r) for r in fake_graph.messages()]
        assert (await customer.say("where is my order 4821937?"))[0] == 200  # the demo account's order
        await fake_graph.wait_for(len(bill) + 1, timeout=60)
        await channel.delivery.drain(timeout=60)
        order = [text_of(r) for r in fake_graph.messages()][len(bill):]
        tracker = await majlis_agent.tracker_store.retrieve("whatsapp_cloud:971500000001")
    assert all(r.json["to"] == "971500000001" for r in fake_graph.messages())
    assert any("149" in text for text in bill) and not any("318" in text for text in bill), bill
    assert not any("verify" in text.lower() or "code" in text.lower() for text in bill), bill
    assert any("couldn't find an order" in text for text in order), order
    assert tracker is not None and tracker.latest_message.input_channel == "whatsapp_cloud"

"""End to end: a fake customer writes Arabic on WhatsApp, the real model answers.

The session's ``majlis_agent`` (trained model, action server, BilingualNLG; see
tests/conftest.py) serves behind the WhatsApp Cloud channel on a real Sanic server;
replies go to tests/fakes/fake_graph.py.  The customer (tests/fakes/fake_customer.py)
signs its webhooks with the app secret, like Meta.
"""
from __future__ import annotations

import re
import uuid

import pytest

from bot.delivery import OutboxState
from tests.channels.whatsapp_harness import APP_SECRET, PHONE_NUMBER_ID, make_channel, running_channel, settings, text_of
from tests.fakes.fake_customer import FakeCustomer
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

pytestmark = pytest.mark.e2e

ARABIC = re.compile(r"[\u0600-\u06FF]")
QUESTION = "مرحبا، أبي أعرف فاتورتي"


def new_customer(url: str) -> FakeCustomer:
    """A customer with a wa_id of its own (trackers are per sender)."""
    return FakeCustomer(url, APP_SECRET, PHONE_NUMBER_ID, sender=f"9715{uuid.uuid4().int % 10**8:08d}")


async def settled_replies(channel, fake_graph):
    """Wait for the bot's turn to finish, then return every successful send."""
    await fake_graph.wait_for(1, timeout=60)
    await channel.delivery.drain(timeout=60)
    return fake_graph.messages()


async def test_arabic_question_gets_an_arabic_answer(majlis_agent, fake_graph):
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, majlis_agent) as running:
        customer = new_customer(running.url())
        status, _ = await customer.say(QUESTION)
        assert status == 200
        replies = await settled_replies(channel, fake_graph)
    assert replies, "the bot did not answer"
    for reply in replies:
        assert reply.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
        assert reply.headers["Authorization"] == "Bearer token-brand-a"
        assert reply.json["messaging_product"] == "whatsapp" and reply.json["recipient_type"] == "individual"
        assert reply.json["to"] == customer.sender
    assert ARABIC.search(text_of(replies[0])), text_of(replies[0])


async def test_reply_arrives_exactly_once_when_the_api_fails_twice(majlis_agent, fake_graph):
    fake_graph.fail("500", "130429")
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, majlis_agent) as running:
        customer = new_customer(running.url())
        assert (await customer.say(QUESTION))[0] == 200
        replies = await settled_replies(channel, fake_graph)
        records = await channel.delivery.outbox_records()
    assert [r.outcome for r in fake_graph.messages(outcome=None)][:3] == ["failed:500", "failed:130429", "ok"]
    assert all(r.state is OutboxState.SENT for r in records)
    assert len(replies) == len(records)  # one successful request per stored reply: nothing twice
    assert records[0].message.attempts == 3
    assert ARABIC.search(text_of(replies[0]))

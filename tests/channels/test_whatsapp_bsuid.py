"""WhatsApp customers known only by a business-scoped user id (usernames, 2026).

Payload shapes, written for these tests from Meta's documentation (no public project
published a licensed BSUID-only fixture we may copy):

- inbound: Meta, "Business-scoped user IDs"
  (https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/):
  a username user's message has ``from_user_id`` (and ``from_parent_user_id``) and no
  ``from``; ``contacts[]`` has ``user_id`` and ``profile.username`` and no ``wa_id``;
- outbound: the same page, as implemented by chatwoot/chatwoot#15150 and
  devlooped/WhatsApp#440: ``"recipient_type": "individual", "recipient": "<BSUID>"``;
  ``"to"`` is for phone numbers only (a BSUID in ``to`` is accepted and never
  delivered; tests/fakes/fake_graph.py records such a send as ``dropped``);
- groups: Meta's group ``messages`` webhook reference (``messages[].group_id``).

Everything goes through the real HTTP route and the fake Graph API; the exact bodies
Meta receives are asserted.
"""
from __future__ import annotations

import json
import logging
import time

import pytest

from bot.handoff.outbound import ChannelRegistry
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID, RecordingAgent, make_channel, running_channel, settings
from tests.fakes.fake_customer import encode, envelope, new_wamid
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

BSUID = "AE.13491208655302741918"
PARENT = "AE.ENT.11815799212886844830"
PHONE = "971500000077"
GROUP = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
ADDRESSED_BY_USER_ID = {"recipient_type": "individual", "recipient": BSUID}

#: One Rasa turn answered with every response shape the channel sends.
EVERY_SHAPE = [
    {"text": "أهلاً! كيف أقدر أساعدك؟"},
    {"text": "اختر", "buttons": [{"title": "فاتورتي", "payload": "/check_bill"},
                                 {"title": "أكلم موظف", "payload": "/talk_to_human"}]},
    {"text": "Pick one", "buttons": [{"title": f"Option {n}", "payload": f"/inform{{\"n\": {n}}}"} for n in range(5)]},
    {"image": "https://example.com/bill.png"},
    {"attachment": {"type": "document", "link": "https://example.com/bill.pdf", "filename": "bill.pdf"}},
    {"custom": {"type": "location", "location": {"latitude": 25.2, "longitude": 55.27, "name": "Dubai Mall"}}},
]


def username_message(text: str = "مرحبا", **extra):
    """A username user's text message: BSUID only, no phone (Meta's BSUID page)."""
    return {"from_user_id": BSUID, "from_parent_user_id": PARENT, "id": new_wamid(),
            "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}, **extra}


def username_body(*messages, contacts=None):
    body = envelope(list(messages), phone_number_id=PHONE_NUMBER_ID)
    body["entry"][0]["changes"][0]["value"]["contacts"] = contacts if contacts is not None else [
        {"profile": {"name": "سارة", "username": "@sara.k"}, "user_id": BSUID, "parent_user_id": PARENT}]
    return body


@pytest.fixture
def agent():
    return RecordingAgent(reply=EVERY_SHAPE)


@pytest.fixture
async def served(fake_graph, agent):
    async with running_channel(make_channel(settings(fake_graph.url)), agent) as running:
        yield running


async def test_every_reply_shape_reaches_a_username_customer_by_recipient(served, fake_graph, agent):
    status, _ = await served.post_signed(encode(username_body(username_message())))
    assert status == 200
    sent = await fake_graph.wait_for(len(EVERY_SHAPE))
    assert fake_graph.messages(outcome="dropped") == []
    assert [s.json["type"] for s in sent] == ["text", "interactive", "interactive", "image", "document", "location"]
    for request in sent:
        assert {k: request.json.get(k) for k in ADDRESSED_BY_USER_ID} == ADDRESSED_BY_USER_ID
        assert "to" not in request.json
    assert sent[0].json == {"messaging_product": "whatsapp", **ADDRESSED_BY_USER_ID, "type": "text",
                            "text": {"body": "أهلاً! كيف أقدر أساعدك؟", "preview_url": False}}
    assert sent[1].json["interactive"]["type"] == "button" and sent[2].json["interactive"]["type"] == "list"
    assert sent[4].json["document"] == {"link": "https://example.com/bill.pdf", "filename": "bill.pdf"}
    # The conversation is keyed on the BSUID, and the kind of address travels with the message.
    [message] = agent.messages
    assert message.sender_id == f"whatsapp_cloud:{BSUID}"
    assert message.metadata["whatsapp"]["address_kind"] == "user_id"
    assert message.metadata["whatsapp"]["username"] == "@sara.k"


async def test_mark_as_read_and_typing_name_the_message_not_the_customer(served, fake_graph, agent):
    inbound = username_message()
    await served.post_signed(encode(username_body(inbound)))
    await fake_graph.wait_for(len(EVERY_SHAPE))
    [receipt] = fake_graph.receipts()
    assert receipt.json == {"messaging_product": "whatsapp", "status": "read", "message_id": inbound["id"],
                            "typing_indicator": {"type": "text"}}


async def test_a_customer_with_a_phone_is_addressed_by_it_even_with_a_bsuid(served, fake_graph):
    message = username_message("hi", **{"from": PHONE})
    contacts = [{"profile": {"name": "x"}, "wa_id": PHONE, "user_id": BSUID}]
    await served.post_signed(encode(username_body(message, contacts=contacts)))
    sent = await fake_graph.wait_for(len(EVERY_SHAPE))
    for request in sent:
        assert request.json["to"] == PHONE and request.json["recipient_type"] == "individual"
        assert "recipient" not in request.json


async def test_the_window_template_is_addressed_like_the_message_it_replaces(fake_graph):
    """Source of the fallback: the number's template after 131047 (re-engagement)."""
    config = settings(fake_graph.url, WHATSAPP_TEMPLATE="reengage:ar")
    async with running_channel(make_channel(config), RecordingAgent(reply="hello")) as running:
        fake_graph.fail("131047")
        await running.post_signed(encode(username_body(username_message())))
        [template] = await fake_graph.wait_for(1)
    assert template.json == {"messaging_product": "whatsapp", **ADDRESSED_BY_USER_ID, "type": "template",
                             "template": {"name": "reengage", "language": {"code": "ar", "policy": "deterministic"}}}


async def test_agent_replies_and_proactive_messages_use_the_stored_address(served, fake_graph):
    """Outside a turn only the conversation is known: its stored address kind decides."""
    await served.post_signed(encode(username_body(username_message())))
    await fake_graph.wait_for(len(EVERY_SHAPE))
    fake_graph.reset()
    registry = ChannelRegistry()
    registry.discover([served.channel])
    assert await registry.send_text("whatsapp_cloud", account=PHONE_NUMBER_ID, customer=BSUID,
                                    text="معك سارة من خدمة العملاء", key="agent-reply:1:0")
    await served.channel.get_output_channel().send_text_message(BSUID, "Your order has shipped")
    agent_reply, proactive = await fake_graph.wait_for(2)
    assert agent_reply.json == {"messaging_product": "whatsapp", **ADDRESSED_BY_USER_ID, "type": "text",
                                "text": {"body": "معك سارة من خدمة العملاء", "preview_url": False}}
    assert proactive.json["recipient"] == BSUID and "to" not in proactive.json


async def test_group_messages_are_ignored_without_group_support(served, fake_graph, agent, caplog):
    caplog.set_level(logging.INFO)
    body = username_body(username_message("مرحبا يا جماعة", group_id=GROUP))
    status, answer = await served.post_signed(encode(body))
    assert status == 200 and json.loads(answer)["accepted"] == 0
    await served.channel.delivery.drain()
    assert agent.messages == [] and fake_graph.requests == []
    assert "group support is off" in caplog.text
    assert BSUID not in caplog.text and GROUP not in caplog.text and "مرحبا" not in caplog.text


async def test_with_group_support_the_answer_goes_to_the_group_never_one_to_one(fake_graph):
    agent = RecordingAgent(reply="أهلاً بالجميع")
    async with running_channel(make_channel(settings(fake_graph.url, WHATSAPP_GROUPS="true")), agent) as running:
        await running.post_signed(encode(username_body(username_message("مرحبا", group_id=GROUP))))
        [sent] = await fake_graph.wait_for(1)
    assert sent.json == {"messaging_product": "whatsapp", "recipient_type": "group", "to": GROUP, "type": "text",
                         "text": {"body": "أهلاً بالجميع", "preview_url": False}}
    assert agent.messages[0].sender_id == f"whatsapp_cloud:{GROUP}"

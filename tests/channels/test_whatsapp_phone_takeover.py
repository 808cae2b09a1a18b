"""Phone takeover (WhatsApp coexistence): a person answering from the WhatsApp Business app
(``smb_message_echoes``) silences the bot for that customer until hand-back or a quiet time.

The echo is tests/fixtures/whatsapp/majlis/smb_message_echoes__text.json (written from Meta's
documented payload, see the README beside it), posted signed over real HTTP to the channel
served as ``rasa run`` serves it; what the customer gets is read at the fake Graph API.
"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from channels.whatsapp_cloud.channel import TAKEOVER_REASON
from tests.channels.whatsapp_harness import FIXTURES, RecordingAgent, make_channel, running_channel, settings
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401  (fixture)

ECHO = (FIXTURES / "majlis" / "smb_message_echoes__text.json").read_bytes()
#: From the fixture: the business number the person answered from, and the customer ("+16505551234").
NUMBER = "106540352242922"
CUSTOMER = "16505551234"
REPLY = "أهلاً، كيف أقدر أساعدك؟"


async def write(running, text: str) -> None:
    """The customer writes; the turn (and any reply) is finished when this returns."""
    status, body = await running.post_signed(encode(envelope([text_message(text, sender=CUSTOMER)],
                                                             phone_number_id=NUMBER)))
    assert status == 200, body
    await running.channel.delivery.drain()


async def echo(running) -> None:
    status, body = await running.post_signed(ECHO)
    assert status == 200 and json.loads(body)["accepted"] == 1, body
    await running.channel.delivery.drain()


def replies(graph) -> list:
    return [r.json["text"]["body"] for r in graph.messages() if r.json.get("to") == CUSTOMER]


@pytest.fixture
def agent():
    return RecordingAgent(reply=REPLY)


async def test_the_echo_silences_the_bot_until_the_conversation_is_handed_back(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, agent) as running:
        await write(running, "السلام عليكم، وين طلبي؟")
        assert replies(fake_graph) == [REPLY]

        await echo(running)  # a shop employee answers from the WhatsApp Business app
        assert len(agent.messages) == 1  # the echo is no customer message: the bot never saw it
        record = await channel.takeover.store.get("whatsapp_cloud", NUMBER, CUSTOMER)
        assert record.active and record.reason == TAKEOVER_REASON

        await write(running, "تمام، شكراً")
        assert len(agent.messages) == 1 and replies(fake_graph) == [REPLY]  # the bot stayed silent

        assert await channel.release_to_bot(CUSTOMER) is True  # handed back
        await write(running, "متى يوصل بالضبط؟")
        assert [m.text for m in agent.messages][-1] == "متى يوصل بالضبط؟"
        assert replies(fake_graph) == [REPLY, REPLY]


async def test_the_bot_answers_again_once_the_quiet_time_has_passed(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url, WHATSAPP_TAKEOVER_QUIET_MINUTES="30"))
    async with running_channel(channel, agent) as running:
        start = channel.delivery.clock()
        await echo(running)
        channel.delivery.clock = lambda: start + timedelta(minutes=29)
        await write(running, "هل في أحد معي؟")
        assert agent.messages == [] and replies(fake_graph) == []

        channel.delivery.clock = lambda: start + timedelta(minutes=30, seconds=1)
        await write(running, "مرحبا؟")
        assert [m.text for m in agent.messages] == ["مرحبا؟"] and replies(fake_graph) == [REPLY]
        assert not (await channel.takeover.store.get("whatsapp_cloud", NUMBER, CUSTOMER)).active


async def test_a_later_answer_from_the_phone_starts_the_quiet_time_over(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url, WHATSAPP_TAKEOVER_QUIET_MINUTES="30"))
    async with running_channel(channel, agent) as running:
        start = channel.delivery.clock()
        await echo(running)
        channel.delivery.clock = lambda: start + timedelta(minutes=20)
        second = json.loads(ECHO)
        second["entry"][0]["changes"][0]["value"]["message_echoes"][0]["id"] = "wamid.second-answer"
        status, _ = await running.post_signed(json.dumps(second).encode())
        assert status == 200
        await running.channel.delivery.drain()
        channel.delivery.clock = lambda: start + timedelta(minutes=45)  # 25 minutes after the second answer
        await write(running, "ممكن رقم التتبع؟")
        assert agent.messages == [] and replies(fake_graph) == []


async def test_an_echo_opens_no_window_and_is_never_a_customer_message(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, agent) as running:
        await echo(running)
        assert agent.messages == [] and fake_graph.requests == []  # no turn, not even a read receipt
        assert await channel.delivery.store.last_inbound_at("whatsapp_cloud", NUMBER, CUSTOMER) is None
        assert await channel.window_expires_at(NUMBER, CUSTOMER) is None


async def test_an_echo_for_a_number_we_do_not_serve_changes_nothing(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url))
    foreign = ECHO.replace(NUMBER.encode(), b"999000999")
    async with running_channel(channel, agent) as running:
        status, body = await running.post_signed(foreign)
        assert status == 200 and json.loads(body)["accepted"] == 0
        await write(running, "مرحبا")
        assert replies(fake_graph) == [REPLY]


async def test_an_unsigned_echo_is_refused(fake_graph, agent):  # noqa: F811
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, agent) as running:
        status, _ = await running.post(ECHO, {"Content-Type": "application/json"})
        assert status == 401
        await write(running, "مرحبا")
        assert replies(fake_graph) == [REPLY]

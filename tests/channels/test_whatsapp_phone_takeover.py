"""Phone takeover (WhatsApp coexistence): a person answering from the WhatsApp Business app
(``smb_message_echoes``) silences the bot for that customer until hand-back or a quiet time.

The echo is tests/fixtures/whatsapp/majlis/smb_message_echoes__text.json (written from Meta's
documented payload, see the README beside it), posted signed over real HTTP to the channel
served as ``rasa run`` serves it; what the customer gets is read at the fake Graph API.
"""
from __future__ import annotations

import json
from datetime import timedelta

import aiohttp
import pytest

from bot.agent_desk.channel import AgentDeskInput
from bot.config import Secret
from bot.delivery import DeliveryStore
from bot.handoff.context import OwnerState
from channels.meta.graph import SIGNATURE_HEADER, sign
from channels.whatsapp_cloud.channel import TAKEOVER_REASON
from tests.bot.agent_desk.conftest import FakeTrackers, StubAgent
from tests.bot.handoff.test_replies import SUPERVISOR
from tests.channels.whatsapp_harness import (
    APP_SECRET, FIXTURES, WEBHOOK_PATH, RecordingAgent, make_channel, running_channel, settings,
)
from tests.conftest import free_port
from tests.e2e.handoff_harness import handoff_settings, serving
from tests.fakes.fake_customer import encode, envelope, text_message
from tests.bot.handoff.test_replies import engine  # noqa: F401  (fixture)
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


async def test_with_the_desk_the_echo_opens_a_handoff_and_closing_it_hands_back(engine, fake_graph):  # noqa: F811
    """As Instagram's inbox takeover: the desk shows the conversation; closing it there ends the
    takeover and the hand-back message reaches the customer through the fake Graph API."""
    whatsapp = make_channel(settings(fake_graph.url), store=DeliveryStore(engine))
    desk = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    async with serving([whatsapp, desk], StubAgent(), free_port()) as base_url, aiohttp.ClientSession() as session:
        service = desk.desk.service
        service.trackers = FakeTrackers()

        async def deliver(raw: bytes) -> None:
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
            async with session.post(base_url + WEBHOOK_PATH, data=raw, headers=headers) as answer:
                assert answer.status == 200
            await whatsapp.delivery.drain()

        await deliver(encode(envelope([text_message("وين طلبي؟", sender=CUSTOMER)], phone_number_id=NUMBER)))
        await deliver(ECHO)
        record = await service.open_for("whatsapp_cloud", CUSTOMER)
        assert record is not None and record.state == OwnerState.QUEUED and record.reason == TAKEOVER_REASON
        assert (await whatsapp.takeover.store.get("whatsapp_cloud", NUMBER, CUSTOMER)).active
        await deliver(ECHO.replace(b"wamid.HBgL", b"wamid.AgAiN"))  # a second answer: still one handoff
        assert (await service.open_for("whatsapp_cloud", CUSTOMER)).public_id == record.public_id

        ops = desk.desk.desk
        await ops.claim(SUPERVISOR, record.public_id)
        await ops.close(SUPERVISOR, record.public_id, service.settings.resolutions[0])
        await whatsapp.delivery.drain()
        assert not (await whatsapp.takeover.store.get("whatsapp_cloud", NUMBER, CUSTOMER)).active
        assert (await service.store.get(record.public_id)).state == OwnerState.BOT
        handback = service.settings.messages["handback"]
        sent = [r.json["text"]["body"] for r in fake_graph.messages() if r.json.get("to") == CUSTOMER]
        assert sent and sent[0] in (handback.get("ar"), handback.get("en"))

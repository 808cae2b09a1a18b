"""WhatsApp Cloud: signed webhooks replayed after the dedupe retention, and reactions.

Reaction shapes: pywa's recorded ``message__reaction.json`` / ``message__unreaction_empty.json``
(tests/fixtures/whatsapp, see SOURCES.md), with a fresh id and timestamp.
"""
from __future__ import annotations

import json
import logging
import time
from typing import List

from channels._reactions import Reaction
from tests.channels.whatsapp_harness import (
    PHONE_NUMBER_ID, RecordingAgent, fixture_json, make_channel, running_channel, settings,
)
from tests.fakes.fake_customer import encode, envelope, new_wamid, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

CUSTOMER = "971500000088"
DAY = 24 * 3600


async def test_a_message_older_than_the_retention_is_not_processed_again(fake_graph, caplog):
    """Meta retries for up to 7 days and wamids are kept 7 days: an older signed body is a replay."""
    caplog.set_level(logging.INFO)
    agent = RecordingAgent(reply="مرحبا")
    channel = make_channel(settings(fake_graph.url, DELIVERY_RETENTION_DAYS="7"))
    now = int(time.time())
    replayed = text_message("كم فاتورتي", sender=CUSTOMER, timestamp=now - 8 * DAY)
    late_retry = text_message("كم فاتورتي", sender=CUSTOMER, timestamp=now - 6 * DAY)
    async with running_channel(channel, agent) as running:
        status, answer = await running.post_signed(encode(envelope([replayed, late_retry],
                                                                   phone_number_id=PHONE_NUMBER_ID)))
        await channel.delivery.drain()
    assert status == 200 and json.loads(answer)["accepted"] == 1
    assert [m.message_id for m in agent.messages] == [late_retry["id"]]
    assert "dedupe retention" in caplog.text
    assert CUSTOMER not in caplog.text and "فاتورتي" not in caplog.text


def recorded_reaction(name: str, **reaction: str):
    message = dict(fixture_json(name)["entry"][0]["changes"][0]["value"]["messages"][0])
    message.update({"from": CUSTOMER, "id": new_wamid(), "timestamp": str(int(time.time()))})
    if reaction:
        message["reaction"] = {**message["reaction"], **reaction}
    return message


async def test_reactions_reach_the_recorder_and_are_never_answered(fake_graph):
    agent = RecordingAgent(reply="Great! How can I help?")
    channel = make_channel(settings(fake_graph.url))
    seen: List[Reaction] = []

    async def recorder(reaction: Reaction) -> bool:
        seen.append(reaction)
        return True

    channel.attach_reactions(recorder)
    async with running_channel(channel, agent) as running:
        for message in (recorded_reaction("message__reaction.json", emoji="👍"),
                        recorded_reaction("message__unreaction_empty.json")):
            await running.post_signed(encode(envelope([message], phone_number_id=PHONE_NUMBER_ID)))
        await channel.delivery.drain()
    assert agent.messages == [] and fake_graph.messages(outcome=None) == []
    assert [(r.emoji, r.removed) for r in seen] == [("👍", False), ("", True)]
    assert {(r.channel, r.account, r.customer) for r in seen} == {("whatsapp_cloud", PHONE_NUMBER_ID, CUSTOMER)}

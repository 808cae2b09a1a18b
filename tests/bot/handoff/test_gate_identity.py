"""No channel can write into another channel's conversation: the gate refuses a sender id
namespaced for another customer channel (bot/identity.py), before NLU, storing nothing."""
from __future__ import annotations

import uuid

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from tests.bot.handoff.test_gate import desk_app  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e


async def test_a_rest_caller_cannot_pose_as_a_whatsapp_customer(majlis_agent, desk_app) -> None:  # noqa: F811
    victim = f"whatsapp_cloud:9715{uuid.uuid4().int % 10**8:08d}"
    output = CollectingOutputChannel()
    replies = await majlis_agent.handle_message(UserMessage("كم فاتورتي", output, victim, input_channel="rest"))
    assert replies == [] and output.messages == []
    assert await majlis_agent.tracker_store.retrieve(victim) is None
    assert await desk_app.service.store.open_for("rest", victim) is None

    own = CollectingOutputChannel()
    await majlis_agent.handle_message(UserMessage("hello", own, victim, input_channel="whatsapp_cloud"))
    assert own.messages, "the real channel's message is answered"

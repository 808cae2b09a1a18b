"""``/intent{...}`` picks the intent only for button payloads (bot/button_payloads.py, bot/rasa_fixes.py).

With the trained model: a customer typing ``/buy_data_bundle{"bundle_size": "10GB"}``
gets an ordinary NLU parse (not Rasa's hard-coded prediction at confidence 1.0 with
the entity filled); a payload the bot just offered still works when sent back as text
(web chat, REST); a real WhatsApp button tap and a signed Instagram quick reply still
pick their intent.
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, Optional

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.button_payloads import BUTTON_KEY, honoured, mark_button, offered_payloads
from tests.channels.whatsapp_harness import PHONE_NUMBER_ID, make_channel, running_channel, settings, text_of
from tests.fakes.fake_customer import FakeCustomer, button_reply, envelope
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

FORCED = '/buy_data_bundle{"bundle_size": "10GB"}'
REGEX_EXTRACTOR = "RegexMessageHandler"


def tracker_with(*events: Any) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("t", list(events))


def test_offered_payloads_are_those_since_the_last_customer_message() -> None:
    old = BotUttered("pick", {"buttons": [{"title": "Bill", "payload": "/check_bill"}]})
    new = BotUttered("pick", {"buttons": [{"title": "Person", "payload": "/talk_to_human"}]})
    tracker = tracker_with(old, UserUttered("hi"), new)
    assert offered_payloads(tracker) == {"/talk_to_human"}
    assert honoured("/talk_to_human", {}, tracker) and honoured(" /talk_to_human ", None, tracker)
    assert not honoured("/check_bill", {}, tracker)  # offered before the customer's last message
    assert not honoured(FORCED, {"display_text": "x"}, tracker)
    assert honoured(FORCED, mark_button({}), tracker_with())  # a provider-signed tap
    assert not honoured(FORCED, {BUTTON_KEY: "yes"}, tracker_with())
    assert not honoured("hello", mark_button({}), tracker)  # ordinary text is never a payload


async def last_user_parse(agent: Any, sender: str) -> Dict[str, Any]:
    tracker = await agent.tracker_store.retrieve(sender)
    return tracker.latest_message.parse_data


async def say(agent: Any, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> list:
    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, sender, input_channel="webchat", metadata=metadata or {}))
    return output.messages


@pytest.mark.e2e
@pytest.mark.parametrize("typed", [FORCED, '/buy_bundle{"bundle_size":"10GB"}', "/talk_to_human"])
async def test_typed_intent_syntax_gets_an_ordinary_nlu_parse(majlis_agent, typed: str) -> None:
    sender = f"webchat-test-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, sender, typed)
    parse = await last_user_parse(majlis_agent, sender)
    assert parse["text"] == typed
    assert parse["intent"]["confidence"] < 1.0, parse["intent"]  # the classifier's, not a hard-coded 1.0
    assert all(e.get("extractor") != REGEX_EXTRACTOR for e in parse["entities"]), parse["entities"]
    # (The text still says "10GB": the NLU and the bundle form may read it, as from any customer.)


@pytest.mark.e2e
async def test_a_payload_the_bot_offered_works_when_sent_back_as_text(majlis_agent) -> None:
    """The web chat sends a tapped button's payload as text: honoured because the bot offered it."""
    sender = f"webchat-test-{uuid.uuid4().hex[:8]}"
    replies = await say(majlis_agent, sender, "are you a bot?")
    offered = [b["payload"] for r in replies for b in r.get("buttons") or []]
    assert "/talk_to_human" in offered, replies
    await say(majlis_agent, sender, "/talk_to_human")
    parse = await last_user_parse(majlis_agent, sender)
    assert parse["intent"] == {"name": "talk_to_human", "confidence": 1.0}


@pytest.mark.e2e
async def test_a_signed_channel_tap_is_honoured(majlis_agent) -> None:
    """A channel that marks a provider-signed tap (Instagram quick replies and postbacks)."""
    sender = f"instagram-test-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, sender, "/check_bill", metadata=mark_button({"channel": "instagram"}))
    parse = await last_user_parse(majlis_agent, sender)
    assert parse["intent"] == {"name": "check_bill", "confidence": 1.0}


@pytest.mark.e2e
async def test_a_whatsapp_button_tap_still_picks_its_intent(majlis_agent, fake_graph) -> None:
    channel = make_channel(settings(fake_graph.url))
    async with running_channel(channel, majlis_agent) as running:
        customer = FakeCustomer(running.url(), channel.settings.app_secret.reveal(), PHONE_NUMBER_ID,
                                sender=f"9715{uuid.uuid4().int % 10**8:08d}")
        tap = button_reply("/check_bill", "My bill", sender=customer.sender)
        status, _ = await customer.post(envelope([tap], phone_number_id=PHONE_NUMBER_ID))
        assert status == 200
        await fake_graph.wait_for(1, timeout=60)
        await channel.delivery.drain(timeout=60)
    texts = " ".join(text_of(r) for r in fake_graph.messages())
    assert "318.50" in texts and ("درهم" in texts or "AED" in texts), texts  # the bill answered the tap

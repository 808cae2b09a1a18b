"""Instagram events that are not plain text: whose they are, likes and reactions, "Get started",
attachments without text, and replays.

Shapes are Meta's, written for these tests from its documentation:
- messaging events: https://developers.facebook.com/docs/instagram-platform/webhooks/examples
  (``entry[].messaging[]`` with ``sender``/``recipient``/``timestamp`` in ms);
- the heart: a ``message`` whose only attachment is ``{"type": "like_heart"}`` (the same object
  Meta's Postman collection sends as a sticker, tests/fixtures/instagram/send_examples/send_a_sticker.json);
- reactions: ``reaction{mid, action: react|unreact, reaction, emoji}`` (webhook field ``message_reactions``);
- ice-breakers / "Get started": ``postback{mid, title, payload}`` with the app's own payload
  (https://developers.facebook.com/docs/messenger-platform/instagram/features/ice-breakers).
Everything goes through the real route and tests/fakes/fake_instagram_graph.py.
"""
from __future__ import annotations

import json
import logging
import time
from typing import List

import pytest

from channels._reactions import Reaction
from tests.channels.test_instagram_harness import (
    ACCOUNT, NOW_MS, RecordingAgent, make_channel, message_event, serve, settings, webhook_body,
)
from tests.fakes.fake_instagram_graph import FakeInstagramGraph, fake_instagram_graph  # noqa: F401

CUSTOMER = "igsid-7001"
OTHER_ACCOUNT = "17841499999999999"


def record_reactions(channel) -> List[Reaction]:
    seen: List[Reaction] = []

    async def recorder(reaction: Reaction) -> bool:
        seen.append(reaction)
        return True

    channel.attach_reactions(recorder)
    return seen


async def test_events_for_an_account_we_do_not_serve_are_ignored(fake_instagram_graph: FakeInstagramGraph,
                                                                 caplog) -> None:
    caplog.set_level(logging.DEBUG)
    agent = RecordingAgent(reply={"text": "hello from the wrong account"})
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    # Our entry, but the message was sent to another account (and one entry of another account).
    ours_but_not_to_us = message_event(CUSTOMER, "مرحبا", mid="m-other-1", account=OTHER_ACCOUNT)
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(ours_but_not_to_us))
        await served.deliver(webhook_body(message_event(CUSTOMER, "hi", mid="m-other-2", account=OTHER_ACCOUNT),
                                          account=OTHER_ACCOUNT))
        await served.deliver(webhook_body(message_event(CUSTOMER, "hi", mid="m-ours")))
    assert [m.message_id for m in agent.messages] == ["m-ours"]
    assert [body["recipient"] for body in fake_instagram_graph.sent()] == [{"id": CUSTOMER}]
    assert "does not serve" in caplog.text
    assert CUSTOMER not in caplog.text and "مرحبا" not in caplog.text


async def test_likes_and_reactions_are_recorded_never_answered(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent(reply={"text": "Great! How can I help?"})
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    seen = record_reactions(channel)
    base = {"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT}, "timestamp": NOW_MS}
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(
            message_event(CUSTOMER, mid="m-heart", attachments=[{"type": "like_heart"}]),
            {**base, "reaction": {"mid": "m-bot-1", "action": "react", "reaction": "love", "emoji": "❤️"}},
            {**base, "timestamp": NOW_MS + 1, "reaction": {"mid": "m-bot-1", "action": "react", "reaction": "wow"}},
            {**base, "timestamp": NOW_MS + 2, "reaction": {"mid": "m-bot-1", "action": "unreact"}},
        ))
        stored = await served.inbox_state("m-heart")
    assert agent.messages == [] and fake_instagram_graph.sent() == []
    assert [(r.emoji, r.message_id) for r in seen] == [("❤️", None), ("❤️", "m-bot-1"), ("😮", "m-bot-1"),
                                                         ("", "m-bot-1")]
    assert all((r.channel, r.account, r.customer) == ("instagram", ACCOUNT, CUSTOMER) for r in seen)
    assert stored is not None  # kept in the inbox with the conversation


@pytest.mark.parametrize("payload,title", [("GET_STARTED", "Get Started"),
                                           ("ICEBREAKER_ORDER", "وين طلبي؟")])
async def test_get_started_and_ice_breakers_are_a_greeting_in_the_account_language(
        fake_instagram_graph: FakeInstagramGraph, payload: str, title: str) -> None:
    agent = RecordingAgent()
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT,
                                    INSTAGRAM_LANGUAGE=f"{ACCOUNT}:en"))
    postback = {"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT}, "timestamp": NOW_MS,
                "postback": {"mid": "m-start", "title": title, "payload": payload}}
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(postback))
    [message] = agent.messages
    assert message.text == title
    assert message.parse_data["intent"]["name"] == "get_started"
    assert message.parse_data["language"] == {"code": "en", "form": "default", "confidence": 1.0, "clear": True}


@pytest.mark.parametrize("kind,intent,entities", [
    ("image", "send_media", {"media_kind": "image"}), ("video", "send_media", {"media_kind": "video"}),
    ("file", "send_media", {"media_kind": "document"}), ("audio", "voice_note", {}),
    ("share", "send_media", {}),
])
async def test_attachments_without_text_say_what_arrived(fake_instagram_graph: FakeInstagramGraph,
                                                         kind: str, intent: str, entities: dict) -> None:
    agent = RecordingAgent()
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    attachment = {"type": kind, "payload": {"url": f"https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id={kind}"}}
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(message_event(CUSTOMER, mid=f"m-{kind}", attachments=[attachment])))
    [message] = agent.messages
    assert message.parse_data["intent"]["name"] == intent
    assert {e["entity"]: e["value"] for e in message.parse_data["entities"]} == entities


async def test_a_message_older_than_the_dedupe_retention_is_not_processed(fake_instagram_graph: FakeInstagramGraph,
                                                                          caplog) -> None:
    """A signed body replayed after its mid was pruned (7 days) must not be answered again."""
    caplog.set_level(logging.INFO)
    agent = RecordingAgent(reply={"text": "answered"})
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    now_ms = int(time.time() * 1000)
    eight_days_ago = now_ms - 8 * 24 * 3600 * 1000
    async with serve(channel, agent) as served:
        old = message_event(CUSTOMER, "فاتورتي", mid="m-replayed", at_ms=eight_days_ago)
        fresh = message_event(CUSTOMER, "فاتورتي", mid="m-fresh", at_ms=now_ms)
        status, _ = await served.post_signed(json.dumps({"object": "instagram", "entry": [
            {"id": ACCOUNT, "time": now_ms, "messaging": [old, fresh]}]}).encode())
        await channel.delivery.drain()
    assert status == 200
    assert [m.message_id for m in agent.messages] == ["m-fresh"]
    assert "dedupe retention" in caplog.text and "فاتورتي" not in caplog.text

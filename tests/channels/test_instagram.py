"""Instagram messaging through the real HTTP route: fixtures, bad input, dedupe, echo, standby.

Every request is signed like Meta signs it and goes through Rasa's ``configure_app``;
replies go to the local fake Graph API, which records them.
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, Dict

import pytest

from bot.delivery import InboxState, OutboxState
from channels.instagram.comments import DEFAULT_UNSUPPORTED
from channels.instagram.parse import parse_timestamp
from tests.channels.test_instagram_harness import (
    ACCESS_TOKEN, ACCOUNT, APP_SECRET, NOW_MS, Clock, RecordingAgent, fixture_bytes, fixture_names, make_channel,
    message_event, sent_texts, serve, settings, webhook_body,
)
from tests.conftest import FIXTURES_ROOT
from tests.fakes.fake_instagram_graph import FakeInstagramGraph, fake_instagram_graph  # noqa: F401
from tests.logs import printed

SIGNATURE_VECTORS = FIXTURES_ROOT / "signatures" / "meta_x_hub_signature_256_vectors.json"

#: What each Chatwoot fixture must lead to: the text Rasa gets (None: Rasa not run),
#: the inbox id it is recorded under, and the texts sent back by the channel itself.
FIXTURE_OUTCOMES: Dict[str, Dict[str, Any]] = {
    "instagram_message_create_event.json": {"text": "This is the first message from the customer",
                                            "event_id": "message-id-1"},
    "instagram_message_attachment_event.json": {"text": "", "event_id": "message-id-1",
                                                "attachment": ("share", "https://www.example.com/test.jpeg")},
    "instagram_message_standby_event.json": {"text": None, "event_id": "message-id-1"},
    "instagram_message_unsend_event.json": {"text": None, "event_id": "unsend:message-id-to-delete"},
    "instagram_story_mention_event.json": {"text": None, "event_id": "message-id-1",
                                           "notice": "شكراً على الإشارة في قصتك! 💙 كيف نقدر نساعدك اليوم؟"},
    "instagram_story_mention_event_with_echo.json": {"text": None, "event_id": "echo:message-id-1"},
    "instagram_story_reply_event.json": {"text": "This is the story reply", "event_id": "message-id-1",
                                         "story": "https://chatwoot-assets.local/sample.png"},
    "instagram_test_text_event.json": {"text": "random_text", "event_id": "random_mid"},
    "messaging_seen_event.json": {"text": None, "event_id": "read:Sender-id-1:message-id-1"},
}


def test_every_fixture_has_an_expected_outcome() -> None:
    assert sorted(FIXTURE_OUTCOMES) == fixture_names()


@pytest.mark.parametrize("name", fixture_names())
async def test_fixture_through_the_route(name: str, fake_instagram_graph: FakeInstagramGraph, monkeypatch) -> None:
    """Chatwoot's recorded Instagram events (chatwoot/chatwoot
    ``spec/factories/instagram/instagram_message_create_event.rb``, converted to JSON), posted
    unchanged with a valid signature: accepted, recorded once, and answered only when a
    customer wrote something."""
    expected = FIXTURE_OUTCOMES[name]
    agent = RecordingAgent(reply={"text": "got it"})
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "ar")
    # The recordings are years old: run the clock a minute after each was sent, so the
    # 24-hour window is open as it was when Chatwoot captured them.
    entry = json.loads(fixture_bytes(name))["entry"][0]
    sent_at = parse_timestamp((entry.get("messaging") or entry["standby"])[0]["timestamp"])
    channel = make_channel(settings(fake_instagram_graph.url), Clock(sent_at + timedelta(minutes=1)))
    async with serve(channel, agent) as served:
        await served.deliver(fixture_bytes(name))
        assert await served.inbox_state(expected["event_id"]) is InboxState.DONE
        if expected["text"] is None:
            assert agent.messages == []
        else:
            assert agent.texts == [expected["text"]]
            message = agent.messages[0]
            assert message.input_channel == "instagram" and message.message_id == expected["event_id"]
            assert message.sender_id in ("instagram:Sender-id-1", "instagram:12334")  # namespaced
            assert sent_texts(fake_instagram_graph.sent()) == ["got it"]
        if "attachment" in expected:
            kind, url = expected["attachment"]
            assert agent.messages[0].metadata["media"][0]["type"] == kind
            assert agent.messages[0].metadata["media"][0]["url"] == url
        if "story" in expected:
            assert agent.messages[0].metadata["reply_to"]["story"]["url"] == expected["story"]
        if "notice" in expected:
            assert sent_texts(fake_instagram_graph.sent()) == [expected["notice"]]
        if expected["text"] is None and "notice" not in expected:
            assert fake_instagram_graph.requests == []


async def test_verification_handshake(fake_instagram_graph: FakeInstagramGraph) -> None:
    channel = make_channel(settings(fake_instagram_graph.url))
    async with serve(channel, RecordingAgent()) as served:
        ok = await served.get("/webhooks/instagram/webhook?hub.mode=subscribe&hub.verify_token=ig-verify-token"
                              "&hub.challenge=1158201444")
        wrong = await served.get("/webhooks/instagram/webhook?hub.mode=subscribe&hub.verify_token=nope"
                                 "&hub.challenge=1158201444")
        health = await served.get("/webhooks/instagram/")
    assert ok == (200, "1158201444")
    assert wrong[0] == 403 and "1158201444" not in wrong[1]
    assert health[0] == 200


async def test_meta_signature_vectors_on_the_instagram_route() -> None:
    """X-Hub-Signature-256 vectors (david-lev/pywa tests/test_server.py, a real signed body):
    valid only over the exact bytes; re-serialised, wrong or missing → rejected."""
    cases = [c for c in json.loads(SIGNATURE_VECTORS.read_text())["cases"] if "raw_body" in c]
    for case in cases:
        channel = make_channel(settings(INSTAGRAM_APP_SECRET=case["app_secret"]))
        async with serve(channel, RecordingAgent()) as served:
            header = case["x_hub_signature_256"]
            headers = {"Content-Type": "application/json"}
            if header:
                headers["X-Hub-Signature-256"] = header
            status, _ = await served.post(case["raw_body"].encode("utf-8"), headers)
        expected = {200} if case["expect_valid"] else {401}
        assert status in expected, case["name"]


async def test_bad_input_statuses(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent()
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_MAX_BODY_BYTES="2048"))
    async with serve(channel, agent) as served:
        good = webhook_body(message_event("cust-1", "hello", mid="m-1"))
        assert (await served.post(good, {"Content-Type": "application/json"}))[0] == 401
        assert (await served.post(good, {"X-Hub-Signature-256": "sha256=" + "0" * 64}))[0] == 401
        assert (await served.post(good, {"X-Hub-Signature-256": "sha1=abc"}))[0] == 401
        assert (await served.post_signed(good, secret="another-secret"))[0] == 401
        assert (await served.post_signed(b'{"object": "instagram", "entry": [')) [0] == 400
        assert (await served.post_signed(b'["not", "an", "object"]'))[0] == 400
        assert (await served.post_signed(b"\xff\xfe"))[0] == 400
        assert (await served.post_signed(b'{"x": "' + b"a" * 4096 + b'"}'))[0] == 413
        unknown = json.dumps({"object": "instagram", "new_top_level": 1, "entry": [
            {"id": ACCOUNT, "time": NOW_MS, "something_new": [{"a": 1}],
             "messaging": [{"sender": {"id": "c"}, "recipient": {"id": ACCOUNT}, "timestamp": NOW_MS,
                            "brand_new_event": {"x": 1}}]},
            "not-an-entry"]}).encode()
        assert (await served.post_signed(unknown))[0] == 200
        other_object = json.dumps({"object": "page", "entry": [{"id": "1", "messaging": [
            message_event("cust-1", "hi", mid="m-page")]}]}).encode()
        assert (await served.post_signed(other_object))[0] == 200
        await channel.delivery.drain()
    assert agent.messages == []


async def test_batch_every_entry_and_event_in_order_and_duplicates_once(
    fake_instagram_graph: FakeInstagramGraph,
) -> None:
    agent = RecordingAgent(reply={"text": "ok"})
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    body = json.dumps({"object": "instagram", "entry": [
        {"id": ACCOUNT, "time": NOW_MS, "messaging": [message_event("cust-a", "one", mid="m-1"),
                                                      message_event("cust-a", "two", mid="m-2"),
                                                      message_event("cust-a", "one", mid="m-1")]},
        {"id": ACCOUNT, "time": NOW_MS, "messaging": [message_event("cust-b", "three", mid="m-3")]},
        {"id": "17840000000000999", "time": NOW_MS, "messaging": [
            message_event("cust-c", "other account", mid="m-4", account="17840000000000999")]},
    ]}).encode()
    async with serve(channel, agent) as served:
        await served.deliver(body)
        await served.deliver(body)  # Meta retries: nothing twice
    assert sorted(agent.texts) == ["one", "three", "two"]
    assert [m.text for m in agent.messages if m.sender_id == "instagram:cust-a"] == ["one", "two"]
    assert len(fake_instagram_graph.sent()) == 3
    assert all(b["recipient"]["id"] in ("cust-a", "cust-b") for b in fake_instagram_graph.sent())


async def test_quick_replies_image_and_payload_tap(fake_instagram_graph: FakeInstagramGraph, caplog) -> None:
    buttons = [{"title": f"Option number {i} is long", "payload": f"/choose{{\"n\": {i}}}"} for i in range(15)]
    agent = RecordingAgent(reply={"text": "Pick one", "buttons": buttons, "image": "https://cdn.example/a.png"})
    channel = make_channel(settings(fake_instagram_graph.url))
    tap = message_event("cust-q", "Option number 3 is…", mid="m-tap", quick_reply={"payload": '/choose{"n": 3}'})
    with caplog.at_level(logging.WARNING):
        async with serve(channel, agent) as served:
            await served.deliver(webhook_body(tap))
    # The payload picks the intent; the transcript keeps the title the customer tapped.
    assert agent.texts == ["Option number 3 is…"]
    assert agent.messages[0].parse_data["intent"]["name"] == "choose"
    assert agent.messages[0].parse_data["entities"][0]["value"] == 3
    assert agent.messages[0].metadata["display_text"] == "Option number 3 is…"
    sent = fake_instagram_graph.sent()
    replies = next(b["message"]["quick_replies"] for b in sent if "quick_replies" in b["message"])
    assert len(replies) == 13
    assert replies[0] == {"content_type": "text", "title": "Option number 0 is…", "payload": '/choose{"n": 0}'}
    assert all(len(r["title"]) <= 20 for r in replies)
    assert {"type": "image", "payload": {"url": "https://cdn.example/a.png"}} in [
        b["message"].get("attachment") for b in sent]
    assert all(b["messaging_type"] == "RESPONSE" for b in sent)
    assert "quick replies" in caplog.text and "shortened" in caplog.text


async def test_postback_triggers_its_payload(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent()
    channel = make_channel(settings(fake_instagram_graph.url))
    postback = {"sender": {"id": "cust-p"}, "recipient": {"id": ACCOUNT}, "timestamp": NOW_MS,
                "postback": {"mid": "m-pb", "title": "فاتورتي", "payload": "/check_bill"}}
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(postback))
    assert agent.texts == ["فاتورتي"]
    assert agent.messages[0].parse_data["intent"]["name"] == "check_bill"
    assert agent.messages[0].metadata["display_text"] == "فاتورتي"


async def test_reactions_reads_unsends_and_unsupported_are_never_sent_to_the_bot(
    fake_instagram_graph: FakeInstagramGraph, monkeypatch,
) -> None:
    agent = RecordingAgent(reply={"text": "should not be sent"})
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "en")
    channel = make_channel(settings(fake_instagram_graph.url))
    base = {"sender": {"id": "cust-r"}, "recipient": {"id": ACCOUNT}, "timestamp": NOW_MS}
    events = [
        {**base, "reaction": {"mid": "m-0", "action": "react", "reaction": "love", "emoji": "❤️"}},
        {**base, "reaction": {"mid": "m-0", "action": "unreact"}},
        {**base, "read": {"mid": "m-0"}},
        message_event("cust-r", mid="m-del", is_deleted=True),
        message_event("cust-r", mid="m-gif", is_unsupported=True),
    ]
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(*events))
        for event_id in ("reaction:m-0:react:love:%d" % NOW_MS, "read:cust-r:m-0", "unsend:m-del", "m-gif"):
            assert await served.inbox_state(event_id) is InboxState.DONE
    assert agent.messages == []
    assert sent_texts(fake_instagram_graph.sent()) == [DEFAULT_UNSUPPORTED["en"]]


async def test_standby_is_recorded_but_never_answered(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent(reply={"text": "no"})
    channel = make_channel(settings(fake_instagram_graph.url))
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(message_event("cust-s", "hello?", mid="m-sb"), key="standby"))
        assert await served.inbox_state("m-sb") is InboxState.DONE
    assert agent.messages == [] and fake_instagram_graph.requests == []


async def test_echo_of_a_human_reply_pauses_the_bot_until_released(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent(reply={"text": "bot answer"})
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT))
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(message_event("cust-e", "first", mid="m-e1")))
        bot_mid = fake_instagram_graph.messages()[0].message_id
        # The echo of the bot's own reply (by message id, and by text): no takeover.
        await served.deliver(webhook_body(message_event("cust-e", "bot answer", mid=bot_mid, is_echo=True)))
        await served.deliver(webhook_body(message_event("cust-e", "bot answer", mid="m-echo-x", is_echo=True)))
        assert not await channel.takeovers.is_human("instagram", ACCOUNT, "cust-e")
        # A person answers from the Instagram app: the bot must stop.
        await served.deliver(webhook_body(message_event("cust-e", "Hi, Sara here", mid="m-human", is_echo=True)))
        assert await channel.takeovers.is_human("instagram", ACCOUNT, "cust-e")
        await served.deliver(webhook_body(message_event("cust-e", "thanks Sara", mid="m-e2")))
        assert agent.texts == ["first"]
        assert await channel.release_to_bot("cust-e")
        await served.deliver(webhook_body(message_event("cust-e", "back to bot", mid="m-e3")))
    assert agent.texts == ["first", "back to bot"]
    assert len(fake_instagram_graph.sent()) == 2


async def test_transient_failures_are_retried_and_sent_once(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent(reply={"text": "retried answer"})
    channel = make_channel(settings(fake_instagram_graph.url))
    fake_instagram_graph.fail("500", "613")
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(message_event("cust-t", "hello", mid="m-t")))
        await fake_instagram_graph.wait_for(1, outcome="ok")  # retried after backoff timers
        await channel.delivery.drain()
        records = await channel.delivery.outbox_records("cust-t")
    assert [(r.state, r.message.attempts) for r in records] == [(OutboxState.SENT, 3)]
    assert [r.outcome for r in fake_instagram_graph.messages(None)] == ["failed:500", "failed:613", "ok"]
    assert sent_texts(fake_instagram_graph.sent()) == ["retried answer"]
    assert fake_instagram_graph.requests[-1].headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_window_closed_refusal_is_not_retried(fake_instagram_graph: FakeInstagramGraph) -> None:
    agent = RecordingAgent(reply={"text": "late"})
    channel = make_channel(settings(fake_instagram_graph.url))
    fake_instagram_graph.fail("window")
    async with serve(channel, agent) as served:
        await served.deliver(webhook_body(message_event("cust-w", "hello", mid="m-w")))
    records = await channel.delivery.outbox_records("cust-w")
    assert [r.state for r in records] == [OutboxState.SKIPPED]
    assert len(fake_instagram_graph.requests) == 1


async def test_no_personal_data_logged_at_info(fake_instagram_graph: FakeInstagramGraph, caplog) -> None:
    secret_text = "my name is Fatima, call 0501234567"
    agent = RecordingAgent(reply={"text": "Thanks Fatima, we will call 0501234567"})
    channel = make_channel(settings(fake_instagram_graph.url))
    fake_instagram_graph.fail("500")
    with caplog.at_level(logging.INFO):
        async with serve(channel, agent) as served:
            await served.deliver(webhook_body(message_event("igsid-private-42", secret_text, mid="m-pii")))
            await served.deliver(webhook_body(message_event("igsid-private-42", "Sara here", mid="m-pii-h",
                                                            is_echo=True)))
            await served.post(b'{"broken', {"X-Hub-Signature-256": "sha256=" + "1" * 64})
            await fake_instagram_graph.wait_for(1, outcome="ok")
    info = printed(caplog.records)  # tracebacks included
    for private in ("Fatima", "0501234567", "igsid-private-42", "Sara", APP_SECRET, ACCESS_TOKEN):
        assert private not in info
    assert "taken" in info or "paused" in info

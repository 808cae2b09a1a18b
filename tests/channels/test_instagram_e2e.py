"""The comment funnel end to end with the trained assistant (the session's ``majlis_agent``):
an Arabic comment → one private reply in Arabic → the commenter's DM is answered by the bot."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from channels.instagram.comments import DEFAULT_PRIVATE_REPLY
from tests.channels.test_instagram_harness import (
    ACCOUNT, comment_change, make_channel, message_event, sent_texts, serve, settings,
)
from tests.fakes.fake_instagram_graph import FakeInstagramGraph, fake_instagram_graph  # noqa: F401

pytestmark = pytest.mark.e2e
COMMENTER = "igsid-e2e-commenter"


def arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


async def test_arabic_comment_private_reply_then_dm_with_the_bot(
    majlis_agent: Any, fake_instagram_graph: FakeInstagramGraph, tmp_path, monkeypatch,
) -> None:
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "en")  # the Arabic must come from the comment itself
    funnel = tmp_path / "funnel.yml"
    funnel.write_text("comments:\n  intents: [check_bill, dispute_charge]\n  min_confidence: 0.3\n", encoding="utf-8")
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT,
                                    INSTAGRAM_FUNNEL_FILE=str(funnel)))
    now_ms = int(time.time() * 1000)
    comment = comment_change("cm-e2e-1", "ليش فاتورتي هالشهر غالية؟", author=COMMENTER, media_id="ad-ramadan")
    comment_body = json.dumps({"object": "instagram", "entry": [
        {"id": ACCOUNT, "time": now_ms, "changes": [comment]}]}).encode()
    async with serve(channel, majlis_agent) as served:
        await served.deliver(comment_body)
        await served.deliver(comment_body)  # a duplicate notification (boosted posts send them)
        private = fake_instagram_graph.sent()
        assert private == [{"recipient": {"comment_id": "cm-e2e-1"}, "message": {"text": DEFAULT_PRIVATE_REPLY["ar"]}}]

        dm = message_event(COMMENTER, "مرحبا، أبي أعرف فاتورتي", mid="m-e2e-dm", at_ms=now_ms + 1000)
        await served.deliver(json.dumps({"object": "instagram", "entry": [
            {"id": ACCOUNT, "time": now_ms + 1000, "messaging": [dm]}]}).encode())
        replies = fake_instagram_graph.sent()[1:]
        source = await channel.entry_sources.get("instagram", COMMENTER)
    assert replies, "the bot did not answer the DM"
    assert all(body["recipient"] == {"id": COMMENTER} and body["messaging_type"] == "RESPONSE" for body in replies)
    texts = sent_texts(replies)
    assert texts and arabic(texts[0]), texts
    assert source is not None and (source[0].source, source[0].campaign) == ("instagram_comment", "ad-ramadan")


async def test_get_started_gets_the_welcome_and_the_menu_in_the_account_language(
    majlis_agent: Any, fake_instagram_graph: FakeInstagramGraph, monkeypatch,
) -> None:
    """A "Get started" tap (postback, Meta's ice-breakers page) on an account set to English, in a
    deployment whose default is Arabic; then a voice message (an ``audio`` attachment)."""
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "ar")
    customer = "igsid-e2e-starter"
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT,
                                    INSTAGRAM_LANGUAGE=f"{ACCOUNT}:en"))
    now_ms = int(time.time() * 1000)
    start = {"sender": {"id": customer}, "recipient": {"id": ACCOUNT}, "timestamp": now_ms,
             "postback": {"mid": "m-e2e-start", "title": "Get Started", "payload": "GET_STARTED"}}
    voice = message_event(customer, mid="m-e2e-voice", at_ms=now_ms + 1000,
                          attachments=[{"type": "audio", "payload": {"url": "https://lookaside.fbsbx.com/a.mp4"}}])
    async with serve(channel, majlis_agent) as served:
        await served.deliver(json.dumps({"object": "instagram", "entry": [
            {"id": ACCOUNT, "time": now_ms, "messaging": [start]}]}).encode())
        welcome = fake_instagram_graph.sent()
        await served.deliver(json.dumps({"object": "instagram", "entry": [
            {"id": ACCOUNT, "time": now_ms + 1000, "messaging": [voice]}]}).encode())
        answer = fake_instagram_graph.sent()[len(welcome):]
    [menu] = welcome
    assert menu["message"]["text"].startswith("Welcome! I'm Majlis")
    assert [reply["title"] for reply in menu["message"]["quick_replies"]][:2] == ["My bill", "Where's my order"]
    assert menu["message"]["quick_replies"][0]["payload"] == "/check_bill"
    assert sent_texts(answer)[0].startswith("Sorry, I can't listen to voice notes yet")

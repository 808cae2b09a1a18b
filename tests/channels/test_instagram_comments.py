"""Instagram comments → private replies, and agent replies across the 24-hour / 7-day windows."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from channels.instagram.comments import DEFAULT_PRIVATE_REPLY
from channels.instagram.channel import MessagingWindowClosed
from tests.channels.test_instagram_harness import (
    ACCOUNT, NOW_MS, Clock, RecordingAgent, comment_change, make_channel, message_event, serve, settings, webhook_body,
)
from tests.fakes.fake_instagram_graph import FakeInstagramGraph, fake_instagram_graph  # noqa: F401

NOW = datetime.fromtimestamp(NOW_MS / 1000, timezone.utc)


def comments_body(*changes, account: str = ACCOUNT) -> bytes:
    return webhook_body(*changes, account=account, key="changes")


async def test_comment_gets_one_private_reply_in_its_language(fake_instagram_graph: FakeInstagramGraph,
                                                              monkeypatch) -> None:
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "en")
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT),
                           Clock(NOW + timedelta(minutes=2)))
    arabic = comment_change("cm-ar", "كم سعر باقة ١٠ جيجا؟", author="igsid-ar")
    english = comment_change("cm-en", "How much is the 10GB plan?", author="igsid-en")
    own = comment_change("cm-own", "Thanks everyone!", author=ACCOUNT)
    async with serve(channel, RecordingAgent()) as served:
        await served.deliver(comments_body(arabic, english, own))
        await served.deliver(comments_body(arabic))                      # Meta retries
        # The same comment again, inline (dashboard test shape): still one reply.
        await served.deliver(json.dumps({"field": "comments", "value": arabic["value"]}).encode())
        source = await channel.entry_sources.get("instagram", "igsid-ar")
    sent = sorted(fake_instagram_graph.sent(), key=lambda body: body["recipient"]["comment_id"])  # two conversations
    assert sent == [
        {"recipient": {"comment_id": "cm-ar"}, "message": {"text": DEFAULT_PRIVATE_REPLY["ar"]}},
        {"recipient": {"comment_id": "cm-en"}, "message": {"text": DEFAULT_PRIVATE_REPLY["en"]}},
    ]
    assert fake_instagram_graph.messages()[0].path == f"/v21.0/{ACCOUNT}/messages"
    assert source is not None and source[0].source == "instagram_comment" and source[0].campaign == "media-1"


async def test_funnel_configuration_keywords_posts_and_public_reply(
    fake_instagram_graph: FakeInstagramGraph, tmp_path,
) -> None:
    funnel = tmp_path / "instagram_funnel.yml"
    funnel.write_text(
        "comments:\n"
        "  posts: [ramadan-ad]\n"
        "  keywords: [سعر, price, فاتورة]\n"
        "  public_reply:\n"
        "    enabled: true\n"
        "    ar: [راسلناك على الخاص 📩]\n"
        "    en: [We sent you a DM 📩]\n", encoding="utf-8")
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_FUNNEL_FILE=str(funnel)),
                           Clock(NOW + timedelta(minutes=2)))
    changes = [
        comment_change("cm-1", "وش السعر؟", media_id="ramadan-ad", author="c1"),
        comment_change("cm-2", "Nice photo 😍", media_id="ramadan-ad", author="c2"),        # no keyword
        comment_change("cm-3", "price please", media_id="other-post", author="c3"),         # not this post
        comment_change("cm-4", "price?", media_id="ramadan-ad", author="c4", parent_id="cm-1"),  # a reply
    ]
    async with serve(channel, RecordingAgent()) as served:
        await served.deliver(comments_body(*changes))
    paths = [r.path for r in fake_instagram_graph.messages()]
    assert paths == ["/v21.0/me/messages", "/v21.0/cm-1/replies"]
    assert fake_instagram_graph.sent()[1] == {"message": "راسلناك على الخاص 📩"}


async def test_old_comment_and_failed_private_reply(fake_instagram_graph: FakeInstagramGraph) -> None:
    channel = make_channel(settings(fake_instagram_graph.url), Clock(NOW + timedelta(days=8)))
    async with serve(channel, RecordingAgent()) as served:
        await served.deliver(comments_body(comment_change("cm-old", "price?")))
    assert fake_instagram_graph.requests == []


async def test_agent_replies_use_human_agent_tag_after_24h_and_stop_after_7_days(
    fake_instagram_graph: FakeInstagramGraph,
) -> None:
    clock = Clock(NOW + timedelta(seconds=5))
    channel = make_channel(settings(fake_instagram_graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT), clock)
    async with serve(channel, RecordingAgent()) as served:
        await served.deliver(webhook_body(message_event("cust-ag", "I need a person", mid="m-ag")))
        clock.now = NOW + timedelta(hours=2)
        inside = await channel.send_agent_reply(customer="cust-ag", text="Hi, Sara from care", reply_id="r1")
        await channel.send_agent_reply(customer="cust-ag", text="Hi, Sara from care", reply_id="r1")  # idempotent
        clock.now = NOW + timedelta(hours=30)
        late = await channel.send_agent_reply(customer="cust-ag", text="Your case is solved", reply_id="r2")
        await channel.delivery.drain()
        clock.now = NOW + timedelta(days=7, minutes=1)
        with pytest.raises(MessagingWindowClosed) as closed:
            await channel.send_agent_reply(customer="cust-ag", text="Anything else?", reply_id="r3")
        with pytest.raises(MessagingWindowClosed) as never:
            await channel.send_agent_reply(customer="nobody", text="Hello", reply_id="r4")
        await channel.delivery.drain()
    assert (inside.messaging_type, inside.tag) == ("RESPONSE", None)
    assert (late.messaging_type, late.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert closed.value.reason == "expired" and never.value.reason == "no_conversation"
    assert fake_instagram_graph.sent() == [
        {"recipient": {"id": "cust-ag"}, "messaging_type": "RESPONSE", "message": {"text": "Hi, Sara from care"}},
        {"recipient": {"id": "cust-ag"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
         "message": {"text": "Your case is solved"}},
    ]

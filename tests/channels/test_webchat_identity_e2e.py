"""Web chat identity end to end: real socket.io, the trained model, the action server.

An anonymous session asking for its bill is asked to verify and gets no bill; the code is
read where the demo backend "sends" it (the SMS outbox in the action server's data dir);
after the code the bill comes.  A session the operator's site vouches for (signed JWT)
gets the customer's own bill at once.
"""
from __future__ import annotations

import time

import jwt
import pytest

from bot.delivery import DeliveryStore
from bot.storage import create_engine
from channels.webchat.session import OperatorJWT
from channels.webchat.channel import WebChatInput
from tests.channels.test_webchat import FAST_RETRY, Page
from tests.channels.whatsapp_harness import running_channel
from tests.e2e.test_verification_conversation import latest_sms_code

pytestmark = pytest.mark.e2e
JWT_KEY = "operator-site-signing-key-0123456789abcdef"


async def answers(page: Page, channel: WebChatInput, text: str, message_id: str, replies: int = 1) -> list:
    """What the page received for ``text``: waits for ``replies`` messages (the outbox may still
    be sending when the inbox is drained, so a count is the condition, not the drain)."""
    before = len(page.received)
    assert (await page.say(text, message_id))["accepted"]
    await channel.delivery.drain(timeout=60)
    await page.wait_for(before + replies, timeout=60)
    return [m.get("text") or "" for m in page.received[before:]]


async def test_anonymous_web_chat_verifies_then_gets_the_bill(majlis_agent, session_data_dir):
    channel = WebChatInput(store=DeliveryStore(create_engine("sqlite://")), retry=FAST_RETRY)
    async with running_channel(channel, majlis_agent) as running:  # type: ignore[arg-type]
        page = await Page(running.base_url).open()
        first = await answers(page, channel, "how much is my bill?", "m1")
        assert any("mobile number" in text for text in first) and not any("AED" in t for t in first), first
        await answers(page, channel, "0507654399", "m2")
        code = latest_sms_code(session_data_dir, "971507654399")
        last = await answers(page, channel, code, "m3", replies=2)  # "verified", then the bill
        await page.close()
    assert any("verified" in text for text in last) and any("318.50" in text for text in last), last


async def test_a_session_vouched_for_by_the_operator_gets_its_own_bill(majlis_agent):
    channel = WebChatInput(store=DeliveryStore(create_engine("sqlite://")), retry=FAST_RETRY,
                           operator_jwt=OperatorJWT(JWT_KEY))
    token = jwt.encode({"sub": "971500000001", "exp": int(time.time()) + 600}, JWT_KEY, algorithm="HS256")
    async with running_channel(channel, majlis_agent) as running:  # type: ignore[arg-type]
        page = await Page(running.base_url, identity=token).open()
        assert page.verified
        replies = await answers(page, channel, "how much is my bill?", "j1")
        await page.close()
    assert any("149" in text for text in replies) and not any("mobile number" in t for t in replies), replies

"""Twilio SMS: answered by SMS from the number it was sent to, or ignored; never moved to WhatsApp.

Inbound SMS bodies are written from the parameters of Twilio's "Twilio's request to your
incoming message Webhook URL" (https://www.twilio.com/docs/messaging/guides/webhook-request):
``From``/``To`` are bare E.164 numbers (no ``whatsapp:`` prefix), plus ``ToCountry``,
``FromCity`` … ``NumSegments``.  Minimal status callbacks (``MessageSid`` + ``MessageStatus``)
are what Twilio's "Track the message status" guide documents as the required fields.
Everything goes through the real route, the delivery layer and tests/fakes/fake_twilio.py
(which refuses a From/To pair on different channels, error 21910, as Twilio does).
"""
from __future__ import annotations

import logging
from urllib.parse import urlencode

import pytest

from bot.handoff.outbound import ChannelRegistry
from channels.twilio.payloads import MAX_BODY_CHARS
from tests.channels.test_twilio_whatsapp_harness import (
    ACCOUNT_SID,
    STATUS_PATH,
    RecordingAgent,
    inbound_body,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_twilio import FakeTwilio, fake_twilio  # noqa: F401  (fixture)

BUSINESS = "+14155238886"
PERSON = "+15017122661"
ARABIC_REPLY = "أهلاً! فاتورتك هذا الشهر 318.50 درهم."


def sms_body(sid: str = "SM" + "a" * 32, body: str = "what's my bill", to: str = BUSINESS) -> str:
    """An inbound SMS as Twilio posts it (Twilio's webhook-request parameters)."""
    return urlencode({
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "SAN FRANCISCO",
        "FromZip": "94105", "SmsSid": sid, "FromState": "CA", "SmsStatus": "received", "FromCity": "SAN FRANCISCO",
        "Body": body, "FromCountry": "US", "To": to, "ToZip": "94105", "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": PERSON, "ApiVersion": "2010-04-01",
    })


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:  # noqa: F811
    fake_twilio.account_sid, fake_twilio.auth_token = ACCOUNT_SID, "test-twilio-auth-token"
    return fake_twilio


def sms_settings(fake: FakeTwilio, **env: str):
    return settings(TWILIO_API_URL=fake.base_url, TWILIO_SMS_NUMBERS=BUSINESS, **env)


async def test_an_sms_is_answered_by_sms_from_the_number_it_was_sent_to(fake: FakeTwilio) -> None:
    agent = RecordingAgent(reply=ARABIC_REPLY)
    channel = make_channel(sms_settings(fake))
    async with running_channel(channel, agent) as served:
        assert (await served.post_signed(sms_body()))[0] == 200
        [sent] = await fake.wait_for_created(1)
    assert {name: values[0] for name, values in sent.form.items()} == {
        "To": PERSON, "From": BUSINESS, "Body": ARABIC_REPLY}
    [message] = agent.messages
    assert message.sender_id == f"twilio_whatsapp:sms:{PERSON}" and message.metadata["transport"] == "sms"


async def test_sms_is_ignored_where_it_is_not_enabled_and_never_answered_on_whatsapp(fake: FakeTwilio, caplog) -> None:
    caplog.set_level(logging.INFO)
    agent = RecordingAgent(reply="hello")
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))  # no TWILIO_SMS_NUMBERS
    async with running_channel(channel, agent) as served:
        status, text, _ = await served.post_signed(sms_body(body="رقمي السري 1234"))
        await channel.delivery.drain()
    assert status == 200 and "<Response></Response>" in text
    assert agent.messages == [] and fake.created == []
    assert "SMS is not enabled" in caplog.text
    assert PERSON not in caplog.text and "1234" not in caplog.text


async def test_a_long_arabic_sms_goes_in_parts_of_at_most_ten_segments(fake: FakeTwilio) -> None:
    reply = " ".join(["فاتورتك"] * 300)  # 2,399 characters: UCS-2, 67 per concatenated segment
    agent = RecordingAgent(reply=reply)
    channel = make_channel(sms_settings(fake))
    async with running_channel(channel, agent) as served:
        await served.post_signed(sms_body())
        await channel.delivery.drain()
        sent = await fake.wait_for_created(4)
    bodies = [request.field("Body") for request in sent]
    assert " ".join(bodies) == reply
    assert all(len(body) <= 670 for body in bodies) and all(len(body) <= MAX_BODY_CHARS for body in bodies)
    assert {request.field("To") for request in sent} == {PERSON}


async def test_sms_and_whatsapp_from_one_person_are_two_conversations(fake: FakeTwilio) -> None:
    agent = RecordingAgent(reply="ok")
    channel = make_channel(sms_settings(fake))
    async with running_channel(channel, agent) as served:
        await served.post_signed(sms_body())
        await served.post_signed(inbound_body(sid="SM" + "b" * 32, customer=PERSON))  # To=whatsapp:+14155238886
        await channel.delivery.drain()
        sent = await fake.wait_for_created(2)
        # The agent answers the SMS conversation from the desk: still by SMS.
        registry = ChannelRegistry()
        registry.discover([channel])
        assert await registry.send_text("twilio_whatsapp", account=BUSINESS, customer=f"sms:{PERSON}",
                                        text="معك سارة", key="agent-reply:7:0")
        agent_reply = (await fake.wait_for_created(3))[2]
    assert sorted(m.sender_id for m in agent.messages) == [f"twilio_whatsapp:{PERSON}", f"twilio_whatsapp:sms:{PERSON}"]
    assert {(r.field("From"), r.field("To")) for r in sent} == {
        (BUSINESS, PERSON), (f"whatsapp:{BUSINESS}", f"whatsapp:{PERSON}")}
    assert (agent_reply.field("From"), agent_reply.field("To"), agent_reply.field("Body")) == (BUSINESS, PERSON, "معك سارة")


async def test_a_status_callback_with_only_sid_and_status_updates_the_status(fake: FakeTwilio) -> None:
    agent = RecordingAgent(reply="hello")
    channel = make_channel(sms_settings(fake))
    async with running_channel(channel, agent) as served:
        await served.post_signed(inbound_body())
        [sent] = await fake.wait_for_created(1)
        answer = await served.post_signed(urlencode({"MessageSid": sent.sid, "MessageStatus": "delivered"}),
                                          path=STATUS_PATH)
        record = await channel.delivery.store.current_status("twilio_whatsapp", sent.sid)
    assert answer[0] == 200
    assert record is not None and record.status == "delivered"

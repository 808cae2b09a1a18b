"""End to end with the trained model: a signed Twilio webhook in, the bot's reply out
at the fake Twilio API, through the real route, delivery layer and twilio client.

Uses the session's ``majlis_agent`` (tests/conftest.py); each test has its own
customer number, so the shared agent's conversations never mix.
"""
from __future__ import annotations

import pytest
import regex

from bot.delivery import OutboxState
from tests.channels.test_twilio_whatsapp_harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    inbound_body,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_twilio import FakeTwilio, fake_twilio  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e

BUSINESS = "whatsapp:+14155238886"
ARABIC = regex.compile(r"\p{Arabic}")


@pytest.fixture
def fake(fake_twilio: FakeTwilio) -> FakeTwilio:  # noqa: F811
    fake_twilio.account_sid, fake_twilio.auth_token = ACCOUNT_SID, AUTH_TOKEN
    return fake_twilio


async def converse(agent, fake: FakeTwilio, customer: str, text: str):
    channel = make_channel(settings(TWILIO_API_URL=fake.base_url))
    async with running_channel(channel, agent) as served:
        body = inbound_body(sid="SM" + customer[-10:].rjust(32, "e"), body=text, customer=customer)
        status, _, _ = await served.post_signed(body)
        assert status == 200
        await fake.wait_for_created(1, timeout=120)
        await channel.delivery.drain(timeout=120)
        records = await channel.delivery.outbox_records()
    return records


async def test_arabic_message_gets_an_arabic_reply_at_twilio(majlis_agent, fake: FakeTwilio) -> None:
    customer = "+971500000101"
    records = await converse(majlis_agent, fake, customer, "السلام عليكم")
    assert fake.created, "the bot sent nothing"
    for request in fake.created:
        assert request.field("To") == f"whatsapp:{customer}"
        assert request.field("From") == BUSINESS
    first = fake.created[0].field("Body") or ""
    assert ARABIC.search(first), f"expected an Arabic reply, got {first!r}"
    assert all(record.state is OutboxState.SENT for record in records)


async def test_reply_arrives_exactly_once_when_twilio_fails_twice(majlis_agent, fake: FakeTwilio) -> None:
    customer = "+971500000102"
    fake.fail_next("429", "500")
    records = await converse(majlis_agent, fake, customer, "السلام عليكم")
    assert [request.outcome for request in fake.requests[:3]] == ["429", "500", "created"]
    assert len(fake.created) == len(records)  # one created message per outbox entry, no duplicates
    assert records[0].message.attempts == 3
    assert all(record.state is OutboxState.SENT for record in records)
    assert ARABIC.search(fake.created[0].field("Body") or "")

"""Identity end to end against the trained model and the real action server.

An anonymous web chat customer asking for the bill is asked to verify and gets no
bill; the one-time code is read where the demo backend "sends" it (its recorded SMS
outbox in the action server's data dir); after the code the bill comes.  A WhatsApp
customer (number proven by the channel) gets their own bill with no extra step, and
another customer's order is "not found".
"""
from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_conversations import Conversation, is_arabic, is_english

pytestmark = pytest.mark.e2e


def latest_sms_code(data_dir: Path, line: str) -> str:
    with sqlite3.connect(data_dir / "care_demo.sqlite") as db:
        row = db.execute("SELECT text FROM sms_outbox WHERE line = ? ORDER BY id DESC LIMIT 1", (line,)).fetchone()
    assert row is not None, f"no SMS recorded for {line}"
    return re.search(r"\b(\d{6})\b", row[0]).group(1)


async def test_anonymous_web_chat_verifies_with_a_code_before_the_bill(majlis_agent, session_data_dir):
    chat = Conversation(majlis_agent, channel="webchat", provider_id=uuid.uuid4().hex)
    replies = await chat.say("how much is my bill?")
    assert await chat.last_intent() == "check_bill"
    assert replies and all(is_english(r) for r in replies)
    assert not any("AED" in r for r in replies), replies  # no bill before verification
    assert any("mobile number" in r for r in replies), replies

    replies = await chat.say("my number is 050 765 4321")
    assert any("6-digit code" in r for r in replies), replies
    code = latest_sms_code(session_data_dir, "971507654321")

    wrong = "000000" if code != "000000" else "111111"
    replies = await chat.say(wrong)
    assert any("isn't right" in r for r in replies), replies
    assert not any("AED" in r for r in replies), replies

    replies = await chat.say(code)
    assert any("verified" in r for r in replies), replies
    assert any("318.50" in r and "AED" in r for r in replies), replies  # the line's (demo) account


async def test_anonymous_arabic_web_chat_is_asked_to_verify_in_arabic(majlis_agent, session_data_dir):
    chat = Conversation(majlis_agent, channel="webchat", provider_id=uuid.uuid4().hex)
    replies = await chat.say("كم فاتورتي؟")
    assert replies and all(is_arabic(r) for r in replies), replies
    assert not any("318" in r for r in replies), replies
    replies = await chat.say("رقمي ٠٥٠٧٦٥٤٣٢٢")
    code = latest_sms_code(session_data_dir, "971507654322")
    replies = await chat.say(f"الرمز {code}")
    assert any("318" in r for r in replies) and all(is_arabic(r) for r in replies), replies


async def test_whatsapp_customer_gets_their_own_bill_and_not_anothers_order(majlis_agent):
    chat = Conversation(majlis_agent, provider_id="971500000001")
    replies = await chat.say("what's my bill")
    assert any("149" in r for r in replies), replies  # 971500000001's own (paid) bill, no verification
    replies = await chat.say("where is my order 4821937")  # the demo account's order
    assert any("couldn't find an order" in r for r in replies), replies
    replies = await chat.say("and order 2094417?")
    assert any("Pixel 8" in r for r in replies), replies

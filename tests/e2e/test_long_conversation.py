"""A long conversation behaves the same with the windowed tracker store as with Rasa's.

The same trained model, action server and NLG answer the same 45 messages twice: once
through the shipped WindowedSQLTrackerStore (only the last turns in memory), once
through Rasa's plain SQLTrackerStore (the whole session re-read every turn).  Every
turn must run the same actions, say as many things, in the same language, and end
with the same slots; and the windowed store must have stored every event.
"""
from __future__ import annotations

import copy
import re
import uuid
from pathlib import Path
from typing import List, Tuple

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted

from bot.storage.tracker_store import WindowedSQLTrackerStore, stored_rows

pytestmark = pytest.mark.e2e

ARABIC = re.compile("[\u0600-\u06ff]")

# Customers asking about their bill, an order, an outage, in Gulf Arabic, English and Arabizi.
MESSAGES = [
    "السلام عليكم",
    "كم فاتورتي هالشهر؟",
    "وين طلبي رقم ٤٨٢١٩٣٧؟",
    "النت مقطوع عندي في الشارقة من الصبح",
    "مشكور ما قصرت",
    "Hi there",
    "How much is my bill this month?",
    "Where is my order #4821937?",
    "my mobile data is not working in Sharjah",
    "thanks a lot",
    "salam",
    "ana 3ayez a3raf el fatoora",
    "el net mesh shaghal 3andi fi el Sharjah",
    "shukran",
    "وين طلبي؟",
    "٤٨٢١٩٣٧",
]


async def _turn(processor, sender: str, text: str) -> Tuple[List[str], List[str]]:
    """(actions run, reply languages) for one message."""
    out = CollectingOutputChannel()
    await processor.handle_message(UserMessage(text, out, sender))
    tracker = await processor.tracker_store.retrieve(sender)
    events = list(tracker.events)
    last_user = max(i for i, e in enumerate(events) if e.type_name == "user")
    actions = [e.action_name for e in events[last_user:] if isinstance(e, ActionExecuted)]
    languages = ["ar" if ARABIC.search(m.get("text") or "") else "en" for m in out.messages]
    return actions, languages


async def test_45_messages_run_the_same_actions_as_with_rasas_own_tracker_store(majlis_agent, tmp_path: Path):
    windowed = majlis_agent.processor.tracker_store
    while hasattr(windowed, "_tracker_store"):  # Rasa's FailSafe / Awaitable wrappers
        windowed = windowed._tracker_store
    assert isinstance(windowed, WindowedSQLTrackerStore)
    plain = copy.copy(majlis_agent.processor)  # same loaded model, another tracker store
    plain.tracker_store = SQLTrackerStore(domain=majlis_agent.domain, dialect="sqlite",
                                          db=str(tmp_path / "plain.db"))
    sender_windowed, sender_plain = (f"long-{uuid.uuid4().hex[:8]}" for _ in range(2))

    for index in range(45):
        text = MESSAGES[index % len(MESSAGES)]
        expected = await _turn(plain, sender_plain, text)
        got = await _turn(majlis_agent.processor, sender_windowed, text)
        assert got == expected, f"message {index + 1}: {text!r}"

    tracker = await windowed.retrieve(sender_windowed)
    reference = await plain.tracker_store.retrieve(sender_plain)
    assert tracker.current_slot_values() == reference.current_slot_values()
    assert sum(e.type_name == "user" for e in tracker.events) == windowed.window_turns
    rows = stored_rows(windowed, sender_windowed)
    assert sum(kind == "user" for kind, _ in rows) == 45
    assert len(rows) == len((await plain.tracker_store.retrieve_full_tracker(sender_plain)).events)

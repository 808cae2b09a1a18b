"""WindowedSQLTrackerStore against Rasa's own SQLTrackerStore, on SQLite and PostgreSQL.

The reference is always what Rasa's store does with the same rows: the windowed store
must store exactly the same events, and hand Rasa a tracker whose state (slots, form,
pause, latest message) and recent history (what the policies featurise) are those of
the whole session, while its length stays bounded however long the conversation gets.
"""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.tracker_store import WINDOW_MARK, WindowedSQLTrackerStore, stored_rows, window_start

ROOT = Path(__file__).resolve().parents[3]
WINDOW = 6


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


class RecordingBroker(EventBroker):
    """An event broker that keeps what it is given (stands in for RabbitMQ here; the
    real one is exercised in tests/test_production_backends.py)."""

    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Dict[str, Any]:
    """Keyword arguments for a SQL tracker store on an empty database of each kind."""
    if request.param == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    url = request.getfixturevalue("pg_url")  # a database created for this session, dropped after
    return {"dialect": "postgresql", "host": "127.0.0.1", "port": 5432, "username": "postgres",
            "db": url.rsplit("/", 1)[1]}


def windowed(domain: Domain, db: Dict[str, Any], **extra: Any) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(domain=domain, window_turns=WINDOW, **db, **extra)


def turn(index: int) -> List[Event]:
    """One customer turn as Rasa records it, with a form, a pause and slots along the way."""
    text = f"رسالة رقم {index}" if index % 2 else f"message number {index}"
    events: List[Event] = [UserUttered(text, {"name": "greet", "confidence": 0.9})]
    if index == 2:
        events.append(SlotSet("language", "ar"))
    if index == 4:
        events += [ActionExecuted("order_status_form"), ActiveLoop("order_status_form"),
                   SlotSet("requested_slot", "order_number")]
    elif index == 5:
        events += [SlotSet("order_number", "4821937"), ActionExecuted("order_status_form"), ActiveLoop(None),
                   SlotSet("requested_slot", None), ActionExecuted("action_order_status")]
    elif index == 20:
        events += [ActionExecuted("action_request_human"), SlotSet("requested_human", True), ConversationPaused()]
    else:
        events += [ActionExecuted("utter_greet"), BotUttered(f"reply {index}")]
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


def session_start() -> List[Event]:
    return [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted(), ActionExecuted(ACTION_LISTEN_NAME)]


async def converse(store: Any, sender: str, turns: int, first: int = 0) -> List[Event]:
    """Retrieve, append one turn, save — as Rasa's processor does for each message."""
    added: List[Event] = []
    for index in range(first, first + turns):
        tracker = await store.retrieve(sender)
        if tracker is None:
            tracker = store.init_tracker(sender)
            for event in session_start():
                tracker.update(event)
                added.append(event)
        for event in turn(index):
            tracker.update(event)
            added.append(event)
        await store.save(tracker)
    return added


def sender_id() -> str:
    return f"customer-{uuid.uuid4().hex[:8]}"


async def test_every_event_is_stored_once_in_order_exactly_as_rasa_stores_it(domain, db):
    store, sender = windowed(domain, db), sender_id()
    added = await converse(store, sender, 30)

    rows = stored_rows(store, sender)
    assert [data for _, data in rows] == [event.as_dict() for event in added]
    assert not any(WINDOW_MARK in (data.get("metadata") or {}) for _, data in rows)
    # Rasa's own store reads the same rows back as the same conversation.
    plain = await SQLTrackerStore(domain=domain, **db).retrieve_full_tracker(sender)
    assert list(plain.events) == added


async def test_the_window_keeps_the_whole_sessions_state_and_recent_history(domain, db):
    store, sender = windowed(domain, db), sender_id()
    await converse(store, sender, 30)
    full = await SQLTrackerStore(domain=domain, **db).retrieve(sender)

    tracker = await store.retrieve(sender)

    assert sum(isinstance(e, UserUttered) for e in tracker.events) == WINDOW
    assert len(tracker.events) < len(full.events) / 3
    assert tracker.current_slot_values() == full.current_slot_values()
    assert tracker.get_slot("language") == "ar" and tracker.get_slot("order_number") == "4821937"
    assert tracker.is_paused() and full.is_paused()
    assert tracker.latest_message.text == full.latest_message.text == "رسالة رقم 29"
    # What MemoizationPolicy and RulePolicy featurise (the last turns) is unchanged.
    assert tracker.past_states(domain)[-2 * WINDOW:] == full.past_states(domain)[-2 * WINDOW:]


async def test_an_active_form_before_the_window_is_still_active(domain, db):
    store, sender = windowed(domain, db), sender_id()
    await converse(store, sender, 5)  # turn 4 opens the order-status form
    tracker = await store.retrieve(sender)
    for index in range(100, 100 + WINDOW + 2):  # many turns without leaving the form
        for event in [UserUttered(f"لا أعرف {index}", {"name": "deny", "confidence": 0.9}),
                      ActionExecuted("order_status_form"), ActionExecuted(ACTION_LISTEN_NAME)]:
            tracker.update(event)
        await store.save(tracker)
        tracker = await store.retrieve(sender)

    assert tracker.active_loop_name == "order_status_form"
    assert tracker.get_slot("requested_slot") == "order_number"
    assert (await SQLTrackerStore(domain=domain, **db).retrieve(sender)).active_loop_name == "order_status_form"


async def test_a_second_process_sees_the_other_processes_messages(domain, db):
    """Two Rasa processes on one database (Redis lock store in production)."""
    first, second, sender = windowed(domain, db), windowed(domain, db), sender_id()
    await converse(first, sender, 12)
    await converse(second, sender, 3, first=12)  # second reads from the DB, then writes

    tracker = await first.retrieve(sender)  # first's memory is stale: it must notice
    assert tracker.latest_message.text == "message number 14"
    await converse(first, sender, 1, first=15)
    texts = [data["text"] for kind, data in stored_rows(first, sender) if kind == "user"]
    assert texts[-4:] == ["message number 12", "رسالة رقم 13", "message number 14", "رسالة رقم 15"]
    assert len(texts) == 16


async def test_a_new_session_is_read_alone_as_rasa_reads_it(domain, db):
    store, sender = windowed(domain, db), sender_id()
    await converse(store, sender, 10)
    tracker = await store.retrieve(sender)
    for event in session_start() + [SlotSet("language", "ar")] + turn(50):
        tracker.update(event)
    await store.save(tracker)

    again = await store.retrieve(sender)
    plain = await SQLTrackerStore(domain=domain, **db).retrieve(sender)
    assert list(again.events) == list(plain.events)
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["message number 50"]


async def test_the_event_broker_gets_each_new_event_once(domain, db):
    broker = RecordingBroker()
    store, sender = windowed(domain, db, event_broker=broker), sender_id()
    added = await converse(store, sender, 20)

    published = [{k: v for k, v in body.items() if k != "sender_id"} for body in broker.published]
    assert published == [event.as_dict() for event in added]
    assert {body["sender_id"] for body in broker.published} == {sender}


async def test_a_full_tracker_saved_back_appends_only_what_is_new(domain, db):
    """Rasa's HTTP API and the agent desk read every session, then may append events."""
    store, sender = windowed(domain, db), sender_id()
    await converse(store, sender, 10)
    full = await store.retrieve_full_tracker(sender)
    full.update(BotUttered("وكيل خدمة العملاء معك الآن"))
    await store.save(full)

    rows = stored_rows(store, sender)
    assert [data.get("text") for kind, data in rows if kind == "bot"][-1] == "وكيل خدمة العملاء معك الآن"
    assert len(rows) == len(full.events)
    assert (await store.retrieve(sender)).latest_bot_utterance.text == "وكيل خدمة العملاء معك الآن"


async def test_a_forgotten_conversation_is_read_back_from_the_database(domain, db):
    store, sender = windowed(domain, db, cache_conversations=1), sender_id()
    await converse(store, sender, 12)
    await converse(store, sender_id(), 2)  # pushes the first conversation out of memory

    tracker = await store.retrieve(sender)
    full = await SQLTrackerStore(domain=domain, **db).retrieve(sender)
    assert tracker.current_slot_values() == full.current_slot_values()
    assert tracker.past_states(domain)[-2 * WINDOW:] == full.past_states(domain)[-2 * WINDOW:]
    assert sum(isinstance(e, UserUttered) for e in tracker.events) == WINDOW


async def test_unknown_conversations_are_none(domain, db):
    assert await windowed(domain, db).retrieve(sender_id()) is None


def test_window_opens_on_the_listen_before_a_customer_message():
    events = session_start() + turn(0) + turn(1) + turn(2)
    start = window_start(events, 2)
    assert isinstance(events[start], ActionExecuted) and events[start].action_name == ACTION_LISTEN_NAME
    assert isinstance(events[start + 1], UserUttered) and events[start + 1].text == "رسالة رقم 1"
    assert window_start(events, 5) == 0


async def test_sqlite_trackers_are_written_through_a_write_ahead_log(domain, tmp_path):
    """One fsync per commit instead of the rollback journal's two (same durability)."""
    import sqlite3

    store = WindowedSQLTrackerStore(domain=domain, dialect="sqlite", db=str(tmp_path / "tracker.db"))
    await converse(store, sender_id(), 2)
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM events").fetchone()[0] > 0

"""A SQL tracker store whose cost per turn does not grow with the conversation.

Rasa's ``SQLTrackerStore`` re-reads every event of the session from the database on
each ``retrieve``, JSON-decodes it and replays it into a new tracker; the policies then
featurise that whole tracker and every action-server call carries all of it.  A turn
therefore costs O(events in the session) and a conversation O(n²): in
``bench/growth.py`` message 300 cost 4.5× message 1, and a profile past message 250
put 77% of the server's CPU in re-reading and replaying the session.

This store writes exactly the rows ``SQLTrackerStore`` writes (same ``events`` table,
so plain Rasa, ``rasa export`` and ``retrieve_full_tracker`` read them unchanged), but
keeps each active conversation in memory as a bounded *window*:

- ``base``: a tracker holding the state at the start of the window (slot values, the
  active form, whether a human has the conversation);
- ``window``: the events of the last ``window_turns`` customer turns.

``retrieve`` returns a tracker made of a few events restoring ``base`` (marked with
:data:`WINDOW_MARK` in their metadata) followed by the window: the policies
(``MemoizationPolicy`` looks 4 turns back), the NLG and the action server see the
same recent history and the same slots as with the whole session, at a bounded cost.
One indexed query (the newest row id of the conversation) checks the copy is current,
so several Rasa processes sharing the database (with the Redis lock store) stay
correct: when another process wrote, the session is read again, as Rasa does.

``save`` inserts only the events appended since ``retrieve`` (found by position, not by
re-counting the session's rows), publishes them to the event broker, and slides the
window.  A new session (``SessionStarted``) drops the cached copy, so the next
``retrieve`` reads just the new session, as Rasa does.
"""
from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

#: Metadata key of the events that restore the state before the window (never stored).
WINDOW_MARK = "majlis_window_state"

# Attribute set on trackers this store returns: how many of their events are stored.
_STORED_ATTR = "_majlis_stored_events"

DEFAULT_WINDOW_TURNS = 8
DEFAULT_CACHE_CONVERSATIONS = 500


@dataclass
class _Cached:
    """One conversation's window (replaced, never shared with a tracker Rasa mutates)."""

    last_id: int
    base: DialogueStateTracker
    window: List[Event]


def window_start(events: Sequence[Event], turns: int) -> int:
    """Index where the last ``turns`` customer turns begin (0 if there are fewer).

    A turn begins at the ``action_listen`` right before the customer's message, so the
    window always opens on a listening tracker, as a session does.
    """
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == turns:
                previous = events[index - 1] if index > 0 else None
                if isinstance(previous, ActionExecuted) and previous.action_name == ACTION_LISTEN_NAME:
                    return index - 1
                return index
    return 0


def state_events(base: DialogueStateTracker, timestamp: float) -> List[Event]:
    """Events that bring a fresh tracker to ``base``'s state (slots, form, pause)."""
    mark = {WINDOW_MARK: True}
    events: List[Event] = [
        SlotSet(slot.name, slot.value, timestamp=timestamp, metadata=dict(mark))
        for slot in base.slots.values()
        if slot.value != slot.initial_value
    ]
    if base.active_loop_name:
        events.append(ActiveLoop(base.active_loop_name, timestamp=timestamp, metadata=dict(mark)))
    if base.is_paused():
        events.append(ConversationPaused(timestamp=timestamp, metadata=dict(mark)))
    return events


def _use_wal(engine: Any) -> None:
    """SQLite: write-ahead log instead of Rasa's rollback journal.

    A rollback-journal commit fsyncs the journal and the database file (and deletes the
    journal); a WAL commit appends to one file and fsyncs once, with the same durability
    (synchronous stays FULL). Fewer fsyncs per turn also leave the disk to the WhatsApp
    receiver, whose acknowledgement waits for its own journal's fsync.
    """
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")  # stored in the file: every connection uses it


def is_window_state(event: Event) -> bool:
    return bool(event.metadata and event.metadata.get(WINDOW_MARK))


class WindowedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with a bounded in-memory window per active conversation.

    Configured in ``endpoints.yml`` like Rasa's SQL store, plus two optional keys::

        tracker_store:
          type: bot.storage.tracker_store.WindowedSQLTrackerStore
          dialect: sqlite
          db: var/tracker.db
          window_turns: 8            # customer turns the policies/actions see
          cache_conversations: 500   # conversations kept in memory (LRU)

    Args:
        window_turns: customer turns kept in the tracker Rasa works on (at least 5:
            ``MemoizationPolicy`` looks 4 turns back, the handoff triggers a few more).
        cache_conversations: how many conversations keep their window in memory; the
            others are read from the database on their next message.
    """

    def __init__(
        self,
        *args: Any,
        window_turns: int = DEFAULT_WINDOW_TURNS,
        cache_conversations: int = DEFAULT_CACHE_CONVERSATIONS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            _use_wal(self.engine)
        self.window_turns = max(5, int(window_turns))
        self.cache_conversations = max(1, int(cache_conversations))
        self._cache: "OrderedDict[str, _Cached]" = OrderedDict()

    # -- reading -----------------------------------------------------------

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session of ``sender_id``, as a window (None if unknown)."""
        with self.session_scope() as session:
            newest = self._newest_id(session, sender_id)
            if newest is None:
                self._cache.pop(sender_id, None)
                return None
            cached = self._cache.get(sender_id)
            if cached is None or cached.last_id != newest:
                cached = self._load(session, sender_id)
                if cached is None:
                    return None
            self._remember(sender_id, cached)
            return self._tracker_from(sender_id, cached)

    def _newest_id(self, session: Any, sender_id: str) -> Optional[int]:
        return session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()

    def _load(self, session: Any, sender_id: str) -> Optional[_Cached]:
        """Read the latest session from the database (a miss, or another process wrote)."""
        rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not rows or not self.domain:
            return None
        logger.debug("Reading a tracker of %d events from the database", len(rows))
        events = deserialise_events([json.loads(row.data) for row in rows])
        start = window_start(events, self.window_turns)
        base = DialogueStateTracker.from_events(sender_id, events[:start], self.domain.slots)
        return _Cached(last_id=rows[-1].id, base=base, window=events[start:])

    def _tracker_from(self, sender_id: str, cached: _Cached) -> DialogueStateTracker:
        first = cached.window[0].timestamp if cached.window else 0.0
        events = state_events(cached.base, first) + cached.window
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        setattr(tracker, _STORED_ATTR, len(tracker.events))
        return tracker

    def _remember(self, sender_id: str, cached: _Cached) -> None:
        self._cache[sender_id] = cached
        self._cache.move_to_end(sender_id)
        while len(self._cache) > self.cache_conversations:
            self._cache.popitem(last=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        """Every session, read from the database as Rasa does (transcripts, the HTTP API)."""
        tracker = await super().retrieve_full_tracker(conversation_id)
        if tracker is not None:
            setattr(tracker, _STORED_ATTR, len(tracker.events))  # saving it appends only what is new
        return tracker

    # -- writing -----------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events appended since ``retrieve``; publish them; slide the window."""
        with self.session_scope() as session:
            new_events = self._new_events(session, tracker)
            if self.event_broker is not None and new_events:
                await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
            if new_events:
                # One multi-row INSERT (the ORM would insert and fetch an id row by row).
                session.execute(self.SQLEvent.__table__.insert(),
                                [self._row(tracker.sender_id, event) for event in new_events])
            # Under the conversation's lock nobody else writes its rows: the newest is ours.
            last_id = self._newest_id(session, tracker.sender_id)
            session.commit()
        setattr(tracker, _STORED_ATTR, len(tracker.events))
        self._slide(tracker, new_events, last_id)
        logger.debug("Stored %d new event(s) of a tracker", len(new_events))

    def _new_events(self, session: Any, tracker: DialogueStateTracker) -> List[Event]:
        events = list(tracker.events)
        stored = getattr(tracker, _STORED_ATTR, None)
        if stored is None:
            stored = self._stored_position(session, tracker, events)
        return [event for event in events[stored:] if not is_window_state(event)]

    def _stored_position(self, session: Any, tracker: DialogueStateTracker, events: List[Event]) -> int:
        """How many of ``events`` are stored, for a tracker this store did not hand out.

        Rasa creates new conversations with ``init_tracker``: nothing windowed, so count
        the session's rows as ``SQLTrackerStore`` does.  A copy of a windowed tracker is
        matched by the newest stored event of its window.
        """
        cached = self._cache.get(tracker.sender_id)
        if cached is not None and cached.window:
            newest = cached.window[-1]
            for index in range(len(events) - 1, -1, -1):
                if events[index] is newest:
                    return index + 1
        if any(is_window_state(event) for event in events):
            # Should not happen: a window whose origin is gone.  Storing too little would
            # lose the customer's turn; storing by time keeps it (and says so).
            logger.warning("Saving a windowed tracker the store no longer knows; matching events by time")
            stored_at = self._newest_timestamp(session, tracker.sender_id)
            return next((i for i, event in enumerate(events)
                         if event.timestamp > stored_at and not is_window_state(event)), len(events))
        return self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()

    def _newest_timestamp(self, session: Any, sender_id: str) -> float:
        newest = session.query(sa.func.max(self.SQLEvent.timestamp)).filter(
            self.SQLEvent.sender_id == sender_id).scalar()
        return float(newest or 0.0)

    @staticmethod
    def _row(sender_id: str, event: Event) -> Dict[str, Any]:
        """The same row ``SQLTrackerStore.save`` writes."""
        data = event.as_dict()
        intent = (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY) if isinstance(
            event, UserUttered) else None
        return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
                "intent_name": intent, "action_name": data.get("name"), "data": json.dumps(data)}

    def _slide(self, tracker: DialogueStateTracker, new_events: Sequence[Event], last_id: Optional[int]) -> None:
        """Append the stored events to the cached window and drop the turns that left it."""
        sender_id = tracker.sender_id
        if last_id is None or any(isinstance(event, SessionStarted) for event in new_events):
            self._cache.pop(sender_id, None)  # the next retrieve reads the new session only
            return
        cached = self._cache.get(sender_id)
        if cached is None:
            return  # not in memory: the next retrieve reads it (a new conversation is short)
        base, window = cached.base, cached.window + list(new_events)
        start = window_start(window, self.window_turns)
        for event in window[:start]:
            base.update(event)
        self._remember(sender_id, _Cached(last_id=last_id, base=base, window=window[start:]))


def stored_rows(store: SQLTrackerStore, sender_id: str) -> List[Tuple[str, Dict[str, Any]]]:
    """(type_name, data) of every stored row of ``sender_id``, oldest first (tests, tools)."""
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender_id).order_by(
            store.SQLEvent.id).all()
        return [(row.type_name, json.loads(row.data)) for row in rows]


__all__ = ["WINDOW_MARK", "WindowedSQLTrackerStore", "is_window_state", "state_events", "stored_rows",
           "window_start"]

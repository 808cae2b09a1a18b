"""Folding stored events into the report tables, incrementally and idempotently.

Three sources, each with its own cursor in ``majlis_report_cursor``:

- Rasa's tracker ``events`` table (the tracker store's database, which may be another
  database than Majlis' own): a ``session_started`` ends the sender's conversation; its
  first customer message opens the next one and fixes its channel, language, form,
  dialect, entry source and intent (what the customer came for); later customer and bot
  messages are counted, and a bot turn that records a bot-only rating (:mod:`bot.rating`)
  gives the conversation its rating.  Events younger than ``settle`` are left for the next run:
  ids are handed out before commit, so the newest ones may still have gaps.
- ``majlis_handoff_event``: every handoff an event touched is re-read (wait until the
  first claim, first agent reply, handling time, rating) and linked to the conversation
  it belongs to (the sender's latest conversation started before it); a handoff whose
  conversation was not folded yet is linked on a later run.
- ``majlis_outbox`` rows skipped because the customer-service window had closed mark
  their conversation as lost to the window.

:meth:`ReportBuilder.refresh` works in batches and stops after ``budget`` seconds,
so a page load never waits for a year of backlog; the desk's loop catches up behind.
Every change to a conversation row queues its local day (``majlis_report_dirty_day``, same
transaction); at the end of each refresh the queued days of the per-day rollup
(``majlis_report_day``, what the page reads) are rebuilt from the conversation rows.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.identity import IdentityError, sender_id
from bot.rating import BOT_ONLY, RATING_METADATA_KEY, rating_of
from bot.reports.tables import (
    create_report_tables,
    report_conversation,
    report_cursor,
    report_handoff,
    report_day,
    report_dirty_day,
)
from bot.storage.schema import REPORT_HOURS
from bot.storage.schema import handoff, handoff_event, handoff_message, outbox

logger = logging.getLogger(__name__)

#: Rasa's tracker events table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent).
tracker_events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"),
                          sa.column("timestamp"), sa.column("data"))

TRACKER, HANDOFFS, WINDOW = "tracker_events", "handoff_events", "outbox_skipped_ms"
#: A handoff belongs to the latest conversation its sender started before it (plus this slack:
#: the handoff row can be written a moment before the turn's tracker events are).
LINK_SLACK = timedelta(minutes=1)
#: How long a handoff may wait for its conversation to be folded before it is reported alone.
UNLINKED_FOR = timedelta(days=2)
_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _naive(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, tz=timezone.utc).replace(tzinfo=None)


@dataclass
class Refreshed:
    """What one refresh did, and whether it caught up with every source."""

    tracker_events: int = 0
    handoffs: int = 0
    windows: int = 0
    days: int = 0
    caught_up: bool = True


class ReportBuilder:
    """Keeps the report tables current.

    Args:
        engine: Majlis' database (handoffs, outbox, the report tables).
        tracker_engine: the tracker store's database (Rasa's ``events`` table); None when
            the tracker store is not SQL (conversations are then not reported).
        zone: the report time zone (days and hours of the page).
        settle: tracker events younger than this are folded on a later run.
        batch: rows per transaction.
    """

    def __init__(self, engine: Engine, tracker_engine: Optional[Engine], zone: str = "Asia/Dubai",
                 settle: timedelta = timedelta(seconds=10), batch: int = 5000) -> None:
        self.engine, self.tracker_engine = engine, tracker_engine
        self.zone = ZoneInfo(zone)
        self.settle, self.batch = settle, batch
        self._lock = threading.Lock()  # one refresh at a time per process
        self._ready = False

    def local(self, moment: datetime) -> datetime:
        return moment.replace(tzinfo=timezone.utc).astimezone(self.zone)

    def refresh(self, budget: Optional[float] = None) -> Refreshed:
        """Fold what is new; stop after ``budget`` seconds (None: until caught up)."""
        deadline = None if budget is None else time.monotonic() + budget
        with self._lock:
            if not self._ready:
                create_report_tables(self.engine)
                self._ready = True
            done = Refreshed()
            if self.tracker_engine is not None:
                done.tracker_events, caught = self._fold_tracker(deadline)
                done.caught_up &= caught
            done.handoffs, caught = self._fold_handoffs(deadline)
            done.caught_up &= caught
            self._link_handoffs()
            done.windows = self._fold_windows()
            done.days = self._roll_up()
            return done

    # -- cursors -----------------------------------------------------------

    @staticmethod
    def _cursor(conn: Connection, name: str) -> int:
        value = conn.execute(sa.select(report_cursor.c.position).where(report_cursor.c.name == name)).scalar()
        return int(value or 0)

    @staticmethod
    def _move(conn: Connection, name: str, position: int) -> None:
        now = datetime.utcnow()
        if conn.execute(report_cursor.update().where(report_cursor.c.name == name).values(
                position=position, updated_at=now)).rowcount == 0:
            conn.execute(report_cursor.insert().values(name=name, position=position, updated_at=now))

    def cursor_time(self) -> Optional[datetime]:
        """When the tracker events were last folded (None: never)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(report_cursor.c.updated_at).where(report_cursor.c.name == TRACKER)).scalar()

    # -- conversations -----------------------------------------------------

    def _fold_tracker(self, deadline: Optional[float]) -> Tuple[int, bool]:
        folded = 0
        while True:
            with self.engine.connect() as conn:
                after = self._cursor(conn, TRACKER)
            cutoff = time.time() - self.settle.total_seconds()
            query = sa.select(tracker_events.c.id, tracker_events.c.sender_id, tracker_events.c.type_name,
                              tracker_events.c.timestamp, tracker_events.c.data).where(
                tracker_events.c.id > after, tracker_events.c.timestamp <= cutoff,
                tracker_events.c.type_name.in_(["user", "bot", "session_started"])).order_by(
                tracker_events.c.id).limit(self.batch)
            assert self.tracker_engine is not None
            with self.tracker_engine.connect() as tconn:
                rows = tconn.execute(query).all()
            if not rows:
                return folded, True
            with self.engine.begin() as conn:
                self._fold_rows(conn, rows)
                self._move(conn, TRACKER, int(rows[-1].id))
            folded += len(rows)
            if len(rows) < self.batch:
                return folded, True
            if deadline is not None and time.monotonic() > deadline:
                return folded, False

    def _fold_rows(self, conn: Connection, rows: Sequence[Any]) -> None:
        senders = sorted({row.sender_id for row in rows})
        current: Dict[str, Dict[str, Any]] = {}
        for chunk in _chunks(senders):
            for row in conn.execute(sa.select(report_conversation).where(
                    report_conversation.c.sender_id.in_(list(chunk)), report_conversation.c.ended.is_(False))):
                current[row.sender_id] = {**row._mapping, "dirty": False}
        written: List[Dict[str, Any]] = list(current.values())
        for row in rows:
            conv = current.get(row.sender_id)
            if row.type_name == "session_started":
                if conv is not None:
                    conv.update(ended=True, dirty=True)
                    del current[row.sender_id]
            elif row.type_name == "user":
                if conv is None:
                    conv = current[row.sender_id] = self._opened(row)
                    written.append(conv)
                else:
                    conv["last_at"] = _naive(float(row.timestamp))
                conv["messages_in"] += 1
                conv["fallbacks"] += int(_intent(row.data) == "nlu_fallback")
                conv["dirty"] = True
            elif conv is not None:  # a bot message of an open conversation
                conv["messages_out"] += 1
                conv["dirty"] = True
                rated = _rating(row.data)
                if rated is not None and rated[1] == BOT_ONLY:  # an agent's comes with its handoff
                    conv["rating"] = rated[0]
        new = [self._values(c) for c in written if c.get("id") is None]
        if new:
            conn.execute(report_conversation.insert(), new)
        changed = [{"b_id": c["id"], **{k: c[k] for k in ("last_at", "messages_in", "messages_out", "fallbacks",
                                                            "ended", "rating")}}
                   for c in written if c.get("id") is not None and c["dirty"]]
        if changed:
            conn.execute(report_conversation.update().where(report_conversation.c.id == sa.bindparam("b_id")).values(
                last_at=sa.bindparam("last_at"), messages_in=sa.bindparam("messages_in"),
                messages_out=sa.bindparam("messages_out"), fallbacks=sa.bindparam("fallbacks"),
                ended=sa.bindparam("ended"), rating=sa.bindparam("rating")), changed)
        _queue_days(conn, {c["local_day"] for c in written if c["dirty"]})

    def _opened(self, row: Any) -> Dict[str, Any]:
        """A new conversation from its first customer message."""
        data = _json(row.data)
        parse = data.get("parse_data") or {}
        language = parse.get("language") or {}
        metadata = data.get("metadata") or {}
        entry = metadata.get("entry_source") or {}
        started = _naive(float(row.timestamp))
        local = self.local(started)
        return {"id": None, "sender_id": row.sender_id, "channel": _short(data.get("input_channel") or "rest"),
                "started_at": started, "last_at": started, "local_day": local.date(), "local_hour": local.hour,
                "language": _short(language.get("code") or "unknown", 16),
                "form": _short(language.get("form") or "unknown", 16),
                "dialect": _short((language.get("dialect") or {}).get("region") or "none", 32),
                "source": _short((entry.get("source") if isinstance(entry, dict) else None) or "direct"),
                "intent": _short((parse.get("intent") or {}).get("name") or "unknown", 100),
                "messages_in": 0, "messages_out": 0, "fallbacks": 0, "handed_off": False, "handoff_reason": None,
                "lost_window": False, "rating": None, "ended": False, "dirty": True}

    @staticmethod
    def _values(conv: Dict[str, Any]) -> Dict[str, Any]:
        return {k: v for k, v in conv.items() if k not in ("id", "dirty")}

    # -- handoffs ----------------------------------------------------------

    def _fold_handoffs(self, deadline: Optional[float]) -> Tuple[int, bool]:
        folded = 0
        while True:
            with self.engine.connect() as conn:
                after = self._cursor(conn, HANDOFFS)
                rows = conn.execute(sa.select(handoff_event.c.id, handoff_event.c.handoff_id).where(
                    handoff_event.c.id > after).order_by(handoff_event.c.id).limit(self.batch)).all()
            if not rows:
                return folded, True
            touched = sorted({int(row.handoff_id) for row in rows})
            with self.engine.begin() as conn:
                for chunk in _chunks(touched):
                    self._write_handoffs(conn, list(chunk))
                self._move(conn, HANDOFFS, int(rows[-1].id))
            folded += len(touched)
            if len(rows) < self.batch:
                return folded, True
            if deadline is not None and time.monotonic() > deadline:
                return folded, False

    def _write_handoffs(self, conn: Connection, ids: List[int]) -> None:
        claims = dict(conn.execute(sa.select(handoff_event.c.handoff_id, sa.func.min(handoff_event.c.created_at)).where(
            handoff_event.c.handoff_id.in_(ids), handoff_event.c.type == "handoff.claimed").group_by(
            handoff_event.c.handoff_id)).all())
        replies = dict(conn.execute(sa.select(handoff_message.c.handoff_id, sa.func.min(handoff_message.c.created_at)).where(
            handoff_message.c.handoff_id.in_(ids), handoff_message.c.kind == "agent").group_by(
            handoff_message.c.handoff_id)).all())
        linked = dict(conn.execute(sa.select(report_handoff.c.handoff_id, report_handoff.c.conversation_id).where(
            report_handoff.c.handoff_id.in_(ids))).all())
        values = []
        for row in conn.execute(sa.select(handoff).where(handoff.c.id.in_(ids))):
            claimed, replied = claims.get(row.id), replies.get(row.id)
            values.append({
                "handoff_id": row.id, "conversation_id": linked.get(row.id), "sender_id": row.customer,
                "queue": row.queue, "reason": row.reason, "created_at": row.created_at,
                "local_day": self.local(row.created_at).date(),
                "wait_s": _between(row.created_at, claimed), "first_response_s": _between(row.created_at, replied),
                "handling_s": _between(claimed, row.closed_at), "rating": row.rating})
        for item in values:
            if item["conversation_id"] is None:
                item["conversation_id"] = self._conversation_of(conn, item["sender_id"], item["created_at"])
        conn.execute(report_handoff.delete().where(report_handoff.c.handoff_id.in_(ids)))
        if values:
            conn.execute(report_handoff.insert(), values)
            # the conversation learns it was handed off (and a rating that came later)
            for item in values:
                if item["conversation_id"] is not None:
                    self._mark(conn, item["conversation_id"], item)

    @staticmethod
    def _conversation_of(conn: Connection, sender: str, created_at: datetime) -> Optional[int]:
        """The sender's latest conversation started before the handoff (None: not folded yet)."""
        return conn.execute(sa.select(report_conversation.c.id).where(
            report_conversation.c.sender_id == sender,
            report_conversation.c.started_at <= created_at + LINK_SLACK).order_by(
            report_conversation.c.started_at.desc()).limit(1)).scalar()

    def _link_handoffs(self) -> None:
        with self.engine.begin() as conn:
            # Handoffs folded before their turn's tracker events, linked now.  Bounded: one whose
            # conversation never shows up (no SQL tracker) is given up once the folded conversations
            # are well past it (folded time, not wall time: a backlog being folded still links).
            newest = conn.execute(sa.select(sa.func.max(report_conversation.c.started_at))).scalar()
            if newest is None:
                return
            unlinked = conn.execute(sa.select(report_handoff).where(
                report_handoff.c.conversation_id.is_(None),
                report_handoff.c.created_at >= newest - UNLINKED_FOR)).all()
            for row in unlinked:
                conversation = self._conversation_of(conn, row.sender_id, row.created_at)
                if conversation is None:
                    continue
                conn.execute(report_handoff.update().where(report_handoff.c.handoff_id == row.handoff_id).values(
                    conversation_id=conversation))
                self._mark(conn, conversation, dict(row._mapping))

    @staticmethod
    def _mark(conn: Connection, conversation_id: int, item: Dict[str, Any]) -> None:
        values: Dict[str, Any] = {"handed_off": True, "handoff_reason": sa.func.coalesce(
            report_conversation.c.handoff_reason, item["reason"])}
        if item.get("rating") is not None:
            values["rating"] = item["rating"]
        conn.execute(report_conversation.update().where(report_conversation.c.id == conversation_id).values(**values))
        _queue_day_of(conn, conversation_id)

    # -- customer-service window ---------------------------------------------

    def _fold_windows(self) -> int:
        with self.engine.begin() as conn:
            since_ms = self._cursor(conn, WINDOW)
            since = datetime(1970, 1, 1) + timedelta(milliseconds=since_ms)
            rows = conn.execute(sa.select(outbox.c.channel, outbox.c.customer, outbox.c.updated_at).where(
                outbox.c.state == "skipped", outbox.c.updated_at >= since).order_by(outbox.c.updated_at)).all()
            for row in rows:
                try:
                    sender = sender_id(row.channel, row.customer)
                except IdentityError:
                    continue
                conversation = conn.execute(sa.select(report_conversation.c.id).where(
                    report_conversation.c.sender_id == sender,
                    report_conversation.c.started_at <= row.updated_at).order_by(
                    report_conversation.c.started_at.desc()).limit(1)).scalar()
                if conversation is not None:
                    conn.execute(report_conversation.update().where(report_conversation.c.id == conversation).values(
                        lost_window=True))
                    _queue_day_of(conn, conversation)
            if rows:
                newest = rows[-1].updated_at - datetime(1970, 1, 1)
                self._move(conn, WINDOW, int(newest.total_seconds() * 1000))
            return len(rows)


    # -- the per-day rollup ----------------------------------------------------

    def _roll_up(self) -> int:
        """Rebuild the rollup rows of every queued day from the conversation rows; days rebuilt."""
        with self.engine.begin() as conn:
            queued = conn.execute(sa.select(report_dirty_day.c.id, report_dirty_day.c.local_day)).all()
            days = sorted({row.local_day for row in queued})
            for chunk in _chunks(days):
                conn.execute(report_day.delete().where(report_day.c.local_day.in_(list(chunk))))
                conn.execute(report_day.insert().from_select(_ROLLUP_COLUMNS, _rollup_of(list(chunk))))
            for chunk in _chunks([row.id for row in queued]):
                conn.execute(report_dirty_day.delete().where(report_dirty_day.c.id.in_(list(chunk))))
            return len(days)


_KEYS = ("local_day", "channel", "language", "form", "dialect", "source", "intent", "handed_off", "handoff_reason",
         "lost_window")
_ROLLUP_COLUMNS = [*_KEYS, "conversations", "messages_in", "rating_sum", "ratings", *REPORT_HOURS]


def _rollup_of(days: List[Any]) -> Any:
    """The rollup rows of ``days``, as a SELECT over the conversation rows (columns as ``_ROLLUP_COLUMNS``)."""
    conv = report_conversation.c
    keys = [conv[name] for name in _KEYS]
    hours = [sa.func.sum(sa.case((conv.local_hour == hour, 1), else_=0)) for hour in range(len(REPORT_HOURS))]
    return sa.select(*keys, sa.func.count(), sa.func.sum(conv.messages_in),
                     sa.func.coalesce(sa.func.sum(conv.rating), 0), sa.func.count(conv.rating), *hours).where(
        conv.local_day.in_(days)).group_by(*keys)


def _queue_days(conn: Connection, days: Any) -> None:
    if days:
        conn.execute(report_dirty_day.insert(), [{"local_day": day} for day in days])


def _queue_day_of(conn: Connection, conversation_id: int) -> None:
    conn.execute(report_dirty_day.insert().from_select(["local_day"], sa.select(
        report_conversation.c.local_day).where(report_conversation.c.id == conversation_id)))


def _rating(text: Any) -> Optional[Tuple[int, str]]:
    """The rating a bot event's data records, if any (parsed only when it can hold one)."""
    if isinstance(text, str) and RATING_METADATA_KEY not in text:
        return None
    return rating_of(_json(text))


def _json(text: Any) -> Dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else (text or {})
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _intent(text: Any) -> Optional[str]:
    return ((_json(text).get("parse_data") or {}).get("intent") or {}).get("name")


def _short(value: Any, size: int = 64) -> str:
    return str(value if value not in (None, "") else "unknown")[:size]


def _between(start: Optional[datetime], end: Optional[datetime]) -> Optional[float]:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())

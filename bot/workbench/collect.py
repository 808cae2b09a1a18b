"""Index customer messages from the tracker store, incrementally.

Rasa's tracker store keeps every event as a JSON row (``events``: id, sender_id,
type_name, timestamp, action_name, data).  :class:`Collector` reads the rows after
its cursor (``majlis_nlu_cursor``), in id order and in batches, and writes one
``majlis_nlu_message`` per customer message: what the model understood (top
intents, language, form, dialect, transliteration), why it deserves a look
(:mod:`bot.workbench.reasons`) and its similarity group
(:mod:`bot.workbench.similarity`).  Later events of the same conversation add
reasons to the customer's latest message: a fallback action, a handoff (the
conversation paused), a rephrasing, "this didn't help".  Each row is read once,
so the inbox never scans the tracker store.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional, Set

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.language.arabizi import transliterate
from bot.language.detect import FORM_ARABIZI
from bot.workbench import reasons, similarity
from bot.workbench.pii import profile_names
from bot.workbench.schema import nlu_band, nlu_cursor, nlu_group, nlu_message

logger = logging.getLogger(__name__)

CURSOR = "tracker_events"
#: Wordings per group through which new messages can join it.
REPRESENTATIVES = 8
#: A band shared by more groups than this says little (common letters such as "ال" hashed alike):
#: it is not searched, so grouping stays linear in the number of messages.
MAX_BAND_GROUPS = 48
BATCH = 5000

events_table = sa.table(  # Rasa's SQLTrackerStore table, read only
    "events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"), sa.column("timestamp"),
    sa.column("action_name"), sa.column("data"))


@dataclass
class _Last:
    """The newest indexed message of a conversation (for reasons that come later)."""

    row_id: int                    # its tracker event id
    pending: Optional[Dict[str, Any]]
    at: float
    signature: List[int]
    bits: int


@dataclass
class Collector:
    """Reads new tracker events into the workbench index.

    Args:
        engine: Majlis' database (the workbench tables).
        tracker_engine: returns the tracker store's engine (the Rasa agent's, looked up each time).
        weak: ``weak(intent, form, dialect)``: True when the intent has few examples there.
    """

    engine: Engine
    tracker_engine: Callable[[], Optional[Engine]]
    weak: Callable[[str, str, Optional[str]], bool] = lambda intent, form, dialect: False
    _groups: Dict[int, List[List[int]]] = field(default_factory=dict)
    _bands: Dict[str, Set[int]] = field(default_factory=dict)
    _by_key: Dict[str, int] = field(default_factory=dict)
    _last: Dict[str, _Last] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _known_absent: Set[str] = field(default_factory=set)

    def collect(self, batch: int = BATCH, max_batches: int = 1000) -> int:
        """Index everything new (in batches); returns how many customer messages were added."""
        source = self.tracker_engine()
        if source is None or not sa.inspect(source).has_table("events"):
            return 0
        added = 0
        with self._lock:
            for _ in range(max_batches):
                with self.engine.begin() as conn:
                    cursor = self._cursor(conn)
                    with source.connect() as read:
                        rows = read.execute(
                            sa.select(events_table.c.id, events_table.c.sender_id, events_table.c.type_name,
                                      events_table.c.timestamp, events_table.c.action_name, events_table.c.data)
                            .where(events_table.c.id > cursor,
                                   events_table.c.type_name.in_(("user", "action", "pause")))
                            .order_by(events_table.c.id).limit(batch)).all()
                    if not rows:
                        return added
                    self._load_groups(conn)
                    added += self._index(conn, rows)
                    self._set_cursor(conn, rows[-1].id)
                if len(self._last) > 50_000:  # a bound on memory; the database has the rest
                    self._last.clear()
                if len(rows) < batch:
                    break
        return added

    # -- cursor -----------------------------------------------------------

    @staticmethod
    def _cursor(conn: Connection) -> int:
        value = conn.execute(sa.select(nlu_cursor.c.last_event_id).where(nlu_cursor.c.name == CURSOR)).scalar()
        return int(value or 0)

    @staticmethod
    def _set_cursor(conn: Connection, last: int) -> None:
        done = conn.execute(nlu_cursor.update().where(nlu_cursor.c.name == CURSOR).values(last_event_id=last))
        if not done.rowcount:
            conn.execute(nlu_cursor.insert().values(name=CURSOR, last_event_id=last))

    # -- groups -----------------------------------------------------------

    def _load_groups(self, conn: Connection) -> None:
        """Read groups other processes made (or all, the first time)."""
        known = max(self._groups, default=0)
        for row in conn.execute(sa.select(nlu_group.c.id, nlu_group.c.signature, nlu_group.c.key)
                                .where(nlu_group.c.id > known)):
            self._groups[row.id] = [similarity.load(part) for part in row.signature.split(";")]
            self._by_key.setdefault(row.key, row.id)
        for row in conn.execute(sa.select(nlu_band.c.band, nlu_band.c.group_id).where(nlu_band.c.group_id > known)):
            self._bands.setdefault(row.band, set()).add(row.group_id)

    def group_of(self, conn: Connection, key: str, sig: List[int]) -> int:
        """The group of a message: the most similar group sharing a band, else a new one.

        A group is found through any of its first :data:`REPRESENTATIVES` wordings (single
        linkage, bounded): a rephrasing joins through the spelling closest to it.
        """
        if key in self._by_key:  # the same wording as before: its group, without comparing
            return self._by_key[key]
        band_keys = similarity.bands(sig)
        best, best_score = None, similarity.SAME_GROUP
        candidates: Set[int] = set()
        for band in band_keys:
            members = self._bands.get(band, ())
            if len(members) <= MAX_BAND_GROUPS:
                candidates.update(members)
        for candidate in candidates:
            score = max(similarity.similarity(sig, rep) for rep in self._groups[candidate])
            if score >= best_score:
                best, best_score = candidate, score
        if best is None:
            best = conn.execute(nlu_group.insert().values(signature=similarity.dump(sig), key=key)).inserted_primary_key[0]
            self._groups[best] = [sig]
        elif best_score < 1.0 and len(self._groups[best]) < REPRESENTATIVES:
            self._groups[best].append(sig)
            conn.execute(nlu_group.update().where(nlu_group.c.id == best).values(
                signature=";".join(similarity.dump(rep) for rep in self._groups[best])))
        else:
            self._by_key[key] = best
            return best
        self._by_key[key] = best
        new_bands = [band for band in band_keys if best not in self._bands.get(band, ())]
        if new_bands:
            conn.execute(nlu_band.insert(), [{"band": band, "group_id": best} for band in new_bands])
        for band in new_bands:
            self._bands.setdefault(band, set()).add(best)
        return best

    # -- messages ---------------------------------------------------------

    def _prefetch(self, conn: Connection, rows: List[Any]) -> None:
        """The newest stored message of every conversation in the batch, in a few queries (not one per row)."""
        unknown = sorted({row.sender_id for row in rows} - set(self._last))
        m = nlu_message.c
        for start in range(0, len(unknown), 500):
            chunk = unknown[start:start + 500]
            newest = sa.select(sa.func.max(m.id)).where(m.sender_id.in_(chunk)).group_by(m.sender_id)
            for row in conn.execute(sa.select(m.sender_id, m.event_id, m.key, m.at, m.reasons)
                                    .where(m.id.in_(newest))):
                self._last[row.sender_id] = _Last(
                    row_id=row.event_id, pending=None, at=row.at.replace(tzinfo=timezone.utc).timestamp(),
                    signature=similarity.signature(row.key), bits=row.reasons)
        self._known_absent = set(unknown) - set(self._last)

    def _index(self, conn: Connection, rows: List[Any]) -> int:
        self._prefetch(conn, rows)
        pending: List[Dict[str, Any]] = []
        later_bits: Dict[int, int] = {}
        for row in rows:
            if row.type_name == "user":
                message = self._message(conn, row)
                if message is None:
                    continue
                previous = self._previous(conn, row.sender_id)
                if previous is not None:
                    self._compare(previous, message, later_bits)
                pending.append(message)
                self._last[row.sender_id] = _Last(row_id=row.id, pending=message, at=row.timestamp or 0.0,
                                                  signature=message.pop("_sig"), bits=message["reasons"])
            else:
                bit = reasons.HANDOFF if row.type_name == "pause" else (
                    reasons.FALLBACK if row.action_name in reasons.FALLBACK_ACTIONS else 0)
                previous = self._previous(conn, row.sender_id) if bit else None
                if previous is not None and not self._is_window_state(row):
                    self._mark(previous, bit, later_bits)
        if pending:
            conn.execute(nlu_message.insert(), pending)
            # Rows of this batch are now stored: later batches update them by event id.
            for last in self._last.values():
                if last.pending is not None:
                    last.pending = None
        for event_id, bits in later_bits.items():
            conn.execute(nlu_message.update().where(nlu_message.c.event_id == event_id)
                         .values(reasons=nlu_message.c.reasons.op("|")(bits)))
        return len(pending)

    @staticmethod
    def _is_window_state(row: Any) -> bool:
        try:
            return bool((json.loads(row.data).get("metadata") or {}).get("majlis_window_state"))
        except (ValueError, AttributeError):
            return False

    def _message(self, conn: Connection, row: Any) -> Optional[Dict[str, Any]]:
        data = json.loads(row.data)
        text = (data.get("text") or "").strip()
        parse = data.get("parse_data") or {}
        if not text or text.startswith("/"):  # button payloads are not language
            return None
        language = parse.get("language") or {}
        form = str(language.get("form") or "unknown")
        bits, ranking = reasons.from_parse(parse.get("intent_ranking") or [])
        key = similarity.text_key(text, form)
        sig = similarity.signature(key)
        intent, confidence = ranking[0] if ranking else (None, None)
        dialect = (language.get("dialect") or {}).get("region") or None
        if intent and self.weak(intent, form, dialect):
            bits |= reasons.WEAK_CELL
        channel = data.get("input_channel") or (row.sender_id.split(":", 1)[0] if ":" in row.sender_id else "rest")
        at = datetime.fromtimestamp(float(row.timestamp or data.get("timestamp") or 0), tz=timezone.utc)
        return {
            "event_id": row.id, "sender_id": row.sender_id, "channel": str(channel)[:64], "text": text,
            "key": key, "language": str(language.get("code") or "?")[:8], "form": form[:16],
            "dialect": dialect,
            "transliteration": transliterate(text) if form == FORM_ARABIZI else None,
            "intent": intent, "confidence": confidence,
            "ranking": json.dumps([{"name": n, "confidence": round(c, 4)} for n, c in ranking[:5]]),
            "entities": json.dumps([{k: e.get(k) for k in ("entity", "value", "start", "end")}
                                    for e in parse.get("entities") or []], ensure_ascii=False),
            "names": json.dumps(profile_names(data.get("metadata")), ensure_ascii=False),
            "reasons": bits, "group_id": self.group_of(conn, key, sig), "at": at.replace(tzinfo=None),
            "status": "open", "_sig": sig,
        }

    def _previous(self, conn: Connection, sender_id: str) -> Optional[_Last]:
        last = self._last.get(sender_id)
        if last is not None or sender_id in self._known_absent:
            return last
        row = conn.execute(sa.select(nlu_message.c.event_id, nlu_message.c.key, nlu_message.c.at,
                                     nlu_message.c.reasons)
                           .where(nlu_message.c.sender_id == sender_id)
                           .order_by(nlu_message.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        last = _Last(row_id=row.event_id, pending=None, at=row.at.replace(tzinfo=timezone.utc).timestamp(),
                     signature=similarity.signature(row.key), bits=row.reasons)
        self._last[sender_id] = last
        return last

    @staticmethod
    def _mark(previous: _Last, bit: int, later_bits: Dict[int, int]) -> None:
        previous.bits |= bit
        if previous.pending is not None:
            previous.pending["reasons"] |= bit
        else:
            later_bits[previous.row_id] = later_bits.get(previous.row_id, 0) | bit

    def _compare(self, previous: _Last, message: Dict[str, Any], later_bits: Dict[int, int]) -> None:
        """Reasons the customer's next message gives the previous one."""
        if reasons.says_not_helpful(message["key"], message["text"]):
            self._mark(previous, reasons.NOT_HELPFUL, later_bits)
            return
        soon = (message["at"].replace(tzinfo=timezone.utc).timestamp() - previous.at) <= reasons.REPHRASE_SECONDS
        if soon and previous.bits & reasons.MISUNDERSTOOD:
            self._mark(previous, reasons.REPHRASED, later_bits)


"""SQL persistence of handoffs: the ownership state machine, enforced by the database.

Every transition is one conditional ``UPDATE ... WHERE state = <expected>`` (plus the
owner where it matters) in one transaction with its event-log row, so two agents
claiming at once cannot both win: the database applies one update, the other matches
no row.  One open handoff per conversation is a unique constraint (``active_key``).
Works on SQLite and PostgreSQL; synchronous SQLAlchemy Core in a small thread pool.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.handoff.context import OPEN_STATES, OwnerState
from bot.handoff.records import EventRecord, HandoffRecord, MessageRecord, to_db
from bot.identity import IdentityError, sender_id
from bot.storage import is_sqlite, migrate
from bot.storage.schema import handoff, handoff_event, handoff_message, webhook_delivery

T = TypeVar("T")
Q, A, C, B = (OwnerState.QUEUED.value, OwnerState.ASSIGNED.value, OwnerState.CLOSED.value, OwnerState.BOT.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFilter:
    """What an agent serves, as SQL: queues and languages (None: all), or handoffs they own."""

    queues: Optional[Sequence[str]]
    languages: Optional[Sequence[str]]
    or_agent_id: Optional[int] = None

    def clause(self) -> Any:
        serves = sa.and_(sa.true(),
                         handoff.c.queue.in_(list(self.queues)) if self.queues is not None else sa.true(),
                         handoff.c.language.in_(list(self.languages)) if self.languages is not None else sa.true())
        return serves if self.or_agent_id is None else sa.or_(serves, handoff.c.agent_id == self.or_agent_id)
def view_clauses(states: Sequence[OwnerState], served: Optional[QueueFilter], queue: Optional[str],
                 agent_id: Optional[int]) -> List[Any]:
    """The WHERE clauses of a queue view (states, what the agent serves, one queue, one owner)."""
    where = [handoff.c.state.in_([s.value for s in states])]
    if served is not None:
        where.append(served.clause())
    if queue is not None:
        where.append(handoff.c.queue == queue)
    if agent_id is not None:
        where.append(handoff.c.agent_id == agent_id)
    return where


def conversation_of(channel: str, customer: str) -> str:
    """How a handoff row names its customer: Rasa's sender id (``whatsapp_cloud:9715…``).

    Callers may pass the sender id or the channel's bare provider id (an Instagram
    takeover knows only the IGSID); both name the same conversation.
    """
    try:
        return sender_id(channel, customer)
    except IdentityError:
        return customer


def active_key(channel: str, customer: str) -> str:
    """The value of the one-open-handoff-per-conversation constraint."""
    return f"{channel} {conversation_of(channel, customer)}"


class SqlStore:
    """Synchronous SQLAlchemy Core behind ``async`` methods: a small thread pool per store.

    Args:
        engine: from :func:`bot.storage.get_engine`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._executor = ThreadPoolExecutor(max_workers=1 if is_sqlite(engine) else 4,
                                            thread_name_prefix=f"majlis-{type(self).__name__}")

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, **kwargs))

    async def setup(self) -> None:
        """Apply pending schema migrations (idempotent)."""
        await self._run(migrate, self.engine)

    def shutdown(self) -> None:
        """Stop the thread pool (the engine is shared and stays open)."""
        self._executor.shutdown(wait=False)


class HandoffStore(SqlStore):
    """Durable handoffs, agent messages, notes and the event log.

    Args:
        engine: from :func:`bot.storage.get_engine`.
        webhook_targets: event type → names of the webhook targets that want it; a
            delivery row per target is written with each event, in its transaction.
    """

    def __init__(self, engine: Engine, webhook_targets: Callable[[str], Sequence[str]] = lambda _t: ()) -> None:
        super().__init__(engine)
        self.webhook_targets = webhook_targets

    # -- events ------------------------------------------------------------

    def _event(self, conn: Connection, handoff_id: int, kind: str, payload: Mapping[str, Any], now: datetime) -> int:
        event_id = conn.execute(handoff_event.insert().values(
            handoff_id=handoff_id, type=kind, payload=json.dumps(payload, ensure_ascii=False),
            created_at=to_db(now))).inserted_primary_key[0]
        for target in self.webhook_targets(kind):
            conn.execute(webhook_delivery.insert().values(
                event_id=event_id, target=target, state="pending", attempts=0,
                next_attempt_at=to_db(now), updated_at=to_db(now)))
        return event_id

    async def add_event(self, record: HandoffRecord, kind: str, payload: Mapping[str, Any], now: datetime) -> int:
        """Append an event of ``record`` (e.g. a customer message) to the log."""
        def run() -> int:
            with self.engine.begin() as conn:
                return self._event(conn, record.id, kind, {**payload, "handoff_id": record.public_id}, now)
        return await self._run(run)

    async def events_since(self, after_id: int, limit: int = 200) -> List[EventRecord]:
        """Events with an id above ``after_id``, oldest first."""
        def run() -> List[EventRecord]:
            query = sa.select(handoff_event).where(handoff_event.c.id > after_id).order_by(handoff_event.c.id)
            with self.engine.connect() as conn:
                return [EventRecord.from_row(r) for r in conn.execute(query.limit(limit))]
        return await self._run(run)

    async def event(self, event_id: int) -> Optional[EventRecord]:
        def run() -> Optional[EventRecord]:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(handoff_event).where(handoff_event.c.id == event_id)).first()
            return EventRecord.from_row(row) if row else None
        return await self._run(run)

    async def last_event_id(self) -> int:
        def run() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.max(handoff_event.c.id))).scalar() or 0)
        return await self._run(run)

    # -- handoffs ----------------------------------------------------------

    def _get(self, conn: Connection, **where: Any) -> Optional[HandoffRecord]:
        query = sa.select(handoff)
        for column, value in where.items():
            query = query.where(handoff.c[column] == value)
        row = conn.execute(query).first()
        return HandoffRecord.from_row(row) if row else None

    async def get(self, public_id: str) -> Optional[HandoffRecord]:
        def run() -> Optional[HandoffRecord]:
            with self.engine.connect() as conn:
                return self._get(conn, public_id=public_id)
        return await self._run(run)

    async def get_by_id(self, handoff_id: int) -> Optional[HandoffRecord]:
        def run() -> Optional[HandoffRecord]:
            with self.engine.connect() as conn:
                return self._get(conn, id=handoff_id)
        return await self._run(run)

    async def open_for(self, channel: str, customer: str) -> Optional[HandoffRecord]:
        """The open handoff of a conversation (queued, assigned or closed), if any."""
        def run() -> Optional[HandoffRecord]:
            with self.engine.connect() as conn:
                return self._get(conn, active_key=active_key(channel, customer))
        return await self._run(run)

    async def create(self, *, channel: str, account: Optional[str], customer: str, queue: str, language: str,
                     priority: int, reason: str, context: Mapping[str, Any], now: datetime,
                     event: Mapping[str, Any]) -> Tuple[HandoffRecord, bool]:
        """bot → queued.  Returns (the open handoff, whether this call created it)."""
        def run() -> Tuple[HandoffRecord, bool]:
            key = active_key(channel, customer)
            try:
                with self.engine.begin() as conn:
                    new_id = conn.execute(handoff.insert().values(
                        public_id=str(uuid.uuid4()), channel=channel, account=account,
                        customer=conversation_of(channel, customer),
                        active_key=key, state=Q, queue=queue, language=language, priority=priority, reason=reason,
                        version=1, context=json.dumps(context, ensure_ascii=False), created_at=to_db(now),
                        last_customer_at=to_db(now))).inserted_primary_key[0]
                    record = self._get(conn, id=new_id)
                    assert record is not None
                    self._event(conn, new_id, "handoff.created", {**event, "handoff_id": record.public_id}, now)
                    return record, True
            except IntegrityError:
                with self.engine.connect() as conn:
                    existing = self._get(conn, active_key=key)
                if existing is None:
                    raise
                return existing, False
        return await self._run(run)

    def _transition(self, public_id: str, expect: Sequence[str], values: Dict[str, Any], now: datetime,
                    kind: str, payload: Mapping[str, Any], owner: Optional[int] = None) -> Optional[HandoffRecord]:
        query = sa.update(handoff).where(handoff.c.public_id == public_id, handoff.c.state.in_(list(expect)))
        if owner is not None:
            query = query.where(handoff.c.agent_id == owner)
        with self.engine.begin() as conn:
            result = conn.execute(query.values(version=handoff.c.version + 1, **values))
            if result.rowcount != 1:
                return None
            record = self._get(conn, public_id=public_id)
            assert record is not None
            self._event(conn, record.id, kind, {**payload, "handoff_id": public_id, "state": record.state.value,
                                                "queue": record.queue, "agent_id": record.agent_id}, now)
            return record

    async def claim(self, public_id: str, agent_id: int, now: datetime) -> Optional[HandoffRecord]:
        """queued → assigned to ``agent_id``; None when someone else was faster."""
        return await self._run(self._transition, public_id, [Q],
                               {"state": A, "agent_id": agent_id, "assigned_at": to_db(now)}, now,
                               "handoff.claimed", {})

    async def release(self, public_id: str, agent_id: Optional[int], now: datetime) -> Optional[HandoffRecord]:
        """assigned → queued (by its owner, or anyone when ``agent_id`` is None)."""
        return await self._run(self._transition, public_id, [A], {"state": Q, "agent_id": None, "assigned_at": None},
                               now, "handoff.released", {}, owner=agent_id)

    async def transfer(self, public_id: str, by_agent: Optional[int], now: datetime, *, queue: str,
                       to_agent: Optional[int] = None) -> Optional[HandoffRecord]:
        """To another queue (queued) or straight to another agent (assigned).

        ``by_agent`` must own an assigned handoff; None (a supervisor) may move any open one.
        """
        expect = [A] if by_agent is not None else [Q, A]
        values = {"queue": queue, "agent_id": to_agent, "state": A if to_agent else Q,
                  "assigned_at": to_db(now) if to_agent else None}
        return await self._run(self._transition, public_id, expect, values, now, "handoff.transferred",
                               {"to_agent_id": to_agent}, owner=by_agent)

    async def close(self, public_id: str, agent_id: Optional[int], resolution: str,
                    now: datetime) -> Optional[HandoffRecord]:
        """assigned → closed by its owner; queued/assigned → closed when ``agent_id`` is None."""
        expect = [A] if agent_id is not None else [Q, A]
        return await self._run(self._transition, public_id, expect,
                               {"state": C, "closed_at": to_db(now), "resolution": resolution}, now,
                               "handoff.closed", {"resolution": resolution}, owner=agent_id)

    async def mark_returned(self, public_id: str, now: datetime, rating_state: Optional[str]) -> Optional[HandoffRecord]:
        """closed → bot: the hand-back is done and a new handoff may start."""
        return await self._run(self._transition, public_id, [C],
                               {"state": B, "active_key": None, "returned_at": to_db(now),
                                "rating_state": rating_state}, now, "handoff.returned", {})

    async def update(self, public_id: str, **values: Any) -> None:
        """Set bookkeeping columns (last_customer_at, last_notice_at, rating, ...)."""
        def run() -> None:
            with self.engine.begin() as conn:
                conn.execute(sa.update(handoff).where(handoff.c.public_id == public_id).values(
                    **{k: to_db(v) if isinstance(v, datetime) else v for k, v in values.items()}))
        await self._run(run)

    async def list(self, *, states: Sequence[OwnerState] = OPEN_STATES, queues: Optional[Sequence[str]] = None,
                   languages: Optional[Sequence[str]] = None, agent_id: Optional[int] = None,
                   limit: int = 200) -> List[HandoffRecord]:
        """Handoffs ordered by priority (highest first), then waiting time (longest first)."""
        def run() -> List[HandoffRecord]:
            query = sa.select(handoff).where(handoff.c.state.in_([s.value for s in states]))
            if queues is not None:
                query = query.where(handoff.c.queue.in_(list(queues)))
            if languages is not None:
                query = query.where(handoff.c.language.in_(list(languages)))
            if agent_id is not None:
                query = query.where(handoff.c.agent_id == agent_id)
            query = query.order_by(handoff.c.priority.desc(), handoff.c.created_at, handoff.c.id).limit(limit)
            with self.engine.connect() as conn:
                return [HandoffRecord.from_row(r) for r in conn.execute(query)]
        return await self._run(run)

    async def page(self, *, states: Sequence[OwnerState], served: Optional[QueueFilter], offset: int, limit: int,
                   queue: Optional[str] = None, agent_id: Optional[int] = None) -> Tuple[List[HandoffRecord], int]:
        """One page of a queue view and the view's total, both counted in SQL.

        ``served`` limits the view to what an agent serves (None: everything);
        ``queue`` and ``agent_id`` narrow it further.
        """
        def run() -> Tuple[List[HandoffRecord], int]:
            where = view_clauses(states, served, queue, agent_id)
            rows = sa.select(handoff).where(*where).order_by(
                handoff.c.priority.desc(), handoff.c.created_at, handoff.c.id).offset(offset).limit(limit)
            total = sa.select(sa.func.count()).select_from(handoff).where(*where)
            with self.engine.connect() as conn:
                return [HandoffRecord.from_row(r) for r in conn.execute(rows)], int(conn.execute(total).scalar() or 0)
        return await self._run(run)

    async def queue_counts(self) -> List[Dict[str, Any]]:
        """Per queue and state: how many open handoffs and the oldest one's creation time."""
        def run() -> List[Dict[str, Any]]:
            query = sa.select(handoff.c.queue, handoff.c.state, sa.func.count().label("count"),
                              sa.func.min(handoff.c.created_at).label("oldest")).where(
                handoff.c.state.in_([Q, A])).group_by(handoff.c.queue, handoff.c.state)
            with self.engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(query)]
        return await self._run(run)

    async def position(self, record: HandoffRecord) -> int:
        """1-based place of a queued handoff in its queue."""
        def run() -> int:
            ahead = sa.select(sa.func.count()).select_from(handoff).where(
                handoff.c.state == Q, handoff.c.queue == record.queue, handoff.c.id != record.id,
                sa.or_(handoff.c.priority > record.priority,
                       sa.and_(handoff.c.priority == record.priority,
                               handoff.c.created_at <= to_db(record.created_at))))
            with self.engine.connect() as conn:
                return int(conn.execute(ahead).scalar() or 0) + 1
        return await self._run(run)

    async def created_since(self, channel: str, since: datetime, customer: Optional[str] = None) -> int:
        """How many handoffs of ``channel`` (of one conversation, if ``customer``) were created since ``since``."""
        def run() -> int:
            query = sa.select(sa.func.count()).select_from(handoff).where(
                handoff.c.channel == channel, handoff.c.created_at >= to_db(since))
            if customer is not None:
                query = query.where(handoff.c.customer == conversation_of(channel, customer))
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar() or 0)
        return await self._run(run)

    async def history(self, channel: str, customer: str, limit: int = 20) -> List[HandoffRecord]:
        """Earlier handoffs of a conversation, newest first."""
        def run() -> List[HandoffRecord]:
            query = sa.select(handoff).where(handoff.c.channel == channel,
                                             handoff.c.customer == conversation_of(channel, customer))
            with self.engine.connect() as conn:
                rows = conn.execute(query.order_by(handoff.c.id.desc()).limit(limit))
                return [HandoffRecord.from_row(r) for r in rows]
        return await self._run(run)

    # -- messages and notes ------------------------------------------------

    async def add_message(self, record: HandoffRecord, *, kind: str, text: str, now: datetime,
                          agent_id: Optional[int] = None, author: Optional[str] = None,
                          client_key: Optional[str] = None,
                          event: Optional[Mapping[str, Any]] = None) -> Tuple[MessageRecord, bool]:
        """Store an agent reply or note (deduplicated on ``client_key``); (message, created)."""
        def find(conn: Connection) -> Optional[MessageRecord]:
            row = conn.execute(sa.select(handoff_message).where(
                handoff_message.c.handoff_id == record.id, handoff_message.c.client_key == client_key)).first()
            return MessageRecord.from_row(row) if row else None

        def run() -> Tuple[MessageRecord, bool]:
            try:
                with self.engine.begin() as conn:
                    new_id = conn.execute(handoff_message.insert().values(
                        handoff_id=record.id, kind=kind, text=text, agent_id=agent_id, author=author,
                        client_key=client_key, send_attempt=0,
                        delivery_state="pending" if kind == "agent" else None,
                        created_at=to_db(now))).inserted_primary_key[0]
                    row = conn.execute(sa.select(handoff_message).where(handoff_message.c.id == new_id)).first()
                    message = MessageRecord.from_row(row)
                    self._event(conn, record.id, f"handoff.{kind}_message" if kind != "agent" else "handoff.message",
                                {**(event or {}), "handoff_id": record.public_id, "message_id": new_id,
                                 "role": kind}, now)
                    return message, True
            except IntegrityError:
                with self.engine.connect() as conn:
                    existing = find(conn) if client_key else None
                if existing is None:
                    raise
                return existing, False
        return await self._run(run)

    async def messages(self, handoff_id: int) -> List[MessageRecord]:
        def run() -> List[MessageRecord]:
            query = sa.select(handoff_message).where(handoff_message.c.handoff_id == handoff_id)
            with self.engine.connect() as conn:
                return [MessageRecord.from_row(r) for r in conn.execute(query.order_by(handoff_message.c.id))]
        return await self._run(run)

    async def message(self, message_id: int) -> Optional[MessageRecord]:
        def run() -> Optional[MessageRecord]:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(handoff_message).where(handoff_message.c.id == message_id)).first()
            return MessageRecord.from_row(row) if row else None
        return await self._run(run)

    async def set_delivery(self, message_id: int, *, state: str, attempt: Optional[int] = None,
                           expect_state: Optional[str] = None) -> bool:
        """Record a reply's delivery state (and a new attempt); conditional on ``expect_state``."""
        def run() -> bool:
            query = sa.update(handoff_message).where(handoff_message.c.id == message_id)
            if expect_state is not None:
                query = query.where(handoff_message.c.delivery_state == expect_state)
            values: Dict[str, Any] = {"delivery_state": state}
            if attempt is not None:
                values["send_attempt"] = attempt
            with self.engine.begin() as conn:
                return conn.execute(query.values(**values)).rowcount == 1
        return await self._run(run)

    async def unsent_replies(self) -> List[MessageRecord]:
        """Agent replies stored but not yet handed to the delivery layer (restart recovery)."""
        def run() -> List[MessageRecord]:
            query = sa.select(handoff_message).where(handoff_message.c.kind == "agent",
                                                     handoff_message.c.delivery_state == "pending")
            with self.engine.connect() as conn:
                return [MessageRecord.from_row(r) for r in conn.execute(query.order_by(handoff_message.c.id))]
        return await self._run(run)

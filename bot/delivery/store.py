"""SQL persistence of the delivery layer: inbox, outbox, statuses, windows.

Synchronous SQLAlchemy Core run in a small thread pool, so the event loop never
blocks on the database.  Works on SQLite and PostgreSQL (the only two dialects
with the ``ON CONFLICT`` support used for idempotent inserts).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from bot.delivery._rows import (
    Conversation,
    chunks,
    from_db,
    inbound_from_row,
    oldest_pending,
    outbox_from_row,
    to_db,
)
from bot.delivery.types import (
    STATUS_RANK,
    InboundItem,
    InboxState,
    OutboundMessage,
    OutboxRecord,
    OutboxState,
    StatusRecord,
    StatusUpdate,
)
from bot.storage import is_sqlite, migrate
from bot.storage.schema import contact_window, inbox, message_status, outbox

logger = logging.getLogger(__name__)

T = TypeVar("T")

Finished = Tuple[int, InboxState, Optional[str]]
"""(inbox row id, final state, error name or None): the end of one processing attempt."""


class DeliveryStore:
    """Durable state of one or more channels (rows are keyed by channel name).

    Args:
        engine: from :func:`bot.storage.get_engine`.
        executor: thread pool for database calls; by default one thread for SQLite
            (a single writer anyway) and four for PostgreSQL.
    """

    def __init__(self, engine: Engine, executor: Optional[ThreadPoolExecutor] = None) -> None:
        self.engine = engine
        self._dialect_insert = sqlite.insert if is_sqlite(engine) else postgresql.insert
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect: {engine.dialect.name}")
        self._executor = executor or ThreadPoolExecutor(
            max_workers=1 if is_sqlite(engine) else 4, thread_name_prefix="majlis-db"
        )

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(fn, *args))

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (e.g. a query on :attr:`engine`) on this store's thread pool.

        Other stores sharing the engine use it, so calls on one SQLite connection
        never overlap (the pool has one thread for SQLite).
        """
        return await self._run(fn, *args)

    async def setup(self) -> None:
        """Apply pending schema migrations (idempotent)."""
        await self._run(migrate, self.engine)

    def close(self) -> None:
        """Stop the thread pool (the engine is shared and stays open)."""
        self._executor.shutdown(wait=False)

    # -- inbox -------------------------------------------------------------

    async def accept(self, items: Sequence[InboundItem], now: datetime) -> List[InboundItem]:
        """Store new inbound items; return those not seen before (stored ids set)."""
        return await self._run(self._accept, items, now)

    def _accept(self, items: Sequence[InboundItem], now: datetime) -> List[InboundItem]:
        token = uuid.uuid4().hex
        rows = [
            {
                "channel": item.channel,
                "message_id": item.message_id,
                "account": item.account,
                "customer": item.customer,
                "payload": json.dumps(item.payload, ensure_ascii=False),
                "sent_at": to_db(item.sent_at),
                "received_at": to_db(now),
                "opens_window": item.opens_window,
                "state": InboxState.PENDING.value,
                "attempts": 0,
                "accept_token": token,
            }
            for item in items
        ]
        if not rows:
            return []
        stmt = self._dialect_insert(inbox).on_conflict_do_nothing(
            index_elements=["channel", "message_id"]
        )
        accepted: List[InboundItem] = []
        with self.engine.begin() as conn:
            for chunk in chunks(rows):
                conn.execute(stmt, list(chunk))
            self._touch_windows(conn, items, now)
            channel = items[0].channel
            ids = [item.message_id for item in items]
            for chunk in chunks(ids):
                query = sa.select(inbox).where(
                    inbox.c.channel == channel,
                    inbox.c.message_id.in_(list(chunk)),
                    inbox.c.accept_token == token,
                )
                accepted.extend(inbound_from_row(row) for row in conn.execute(query))
        accepted.sort(key=lambda item: item.id or 0)
        return accepted

    def _touch_windows(self, conn: Connection, items: Sequence[InboundItem], now: datetime) -> None:
        """Extend each customer's window to their latest message (never backwards)."""
        latest: Dict[Tuple[str, str, str], datetime] = {}
        for item in items:
            if not item.opens_window:
                continue
            # The provider's timestamp opens the window; clamp clock skew into the future.
            at = min(item.sent_at or now, now)
            key = (item.channel, item.account, item.customer)
            if key not in latest or latest[key] < at:
                latest[key] = at
        if not latest:
            return
        stmt = self._dialect_insert(contact_window)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel", "account", "customer"],
            set_={"last_inbound_at": stmt.excluded.last_inbound_at},
            where=contact_window.c.last_inbound_at < stmt.excluded.last_inbound_at,
        )
        conn.execute(
            stmt,
            [
                {"channel": c, "account": a, "customer": u, "last_inbound_at": to_db(at)}
                for (c, a, u), at in latest.items()
            ],
        )

    async def claim_next_inbound(self, channel: str, conv: Conversation) -> Optional[InboundItem]:
        """Mark the oldest pending item of a conversation as processing and return it."""
        return await self._run(self._claim_next_inbound, channel, conv)

    def _claim_next_inbound(self, channel: str, conv: Conversation) -> Optional[InboundItem]:
        with self.engine.begin() as conn:
            return self._claim(conn, channel, conv)

    def _claim(self, conn: Connection, channel: str, conv: Conversation) -> Optional[InboundItem]:
        while True:
            row = conn.execute(oldest_pending(inbox, channel, conv)).first()
            if row is None:
                return None
            claimed = conn.execute(
                inbox.update()
                .where(inbox.c.id == row.id, inbox.c.state == InboxState.PENDING.value)
                .values(state=InboxState.PROCESSING.value, attempts=inbox.c.attempts + 1)
            ).rowcount
            if claimed:
                item = inbound_from_row(row)
                return dataclasses.replace(item, attempts=item.attempts + 1)

    async def finish_and_claim_next(
        self, channel: str, conv: Conversation, finished: Optional[Finished], now: datetime
    ) -> Tuple[Optional[InboundItem], Optional[int]]:
        """Close the item just processed (if any) and claim the next one, in ONE transaction.

        One round trip per turn instead of two: a worker always claims the next item
        right after finishing one.  A crash in between leaves the finished item done and
        nothing claimed, exactly as two separate transactions would.

        Returns:
            (the claimed item or None, the id of the conversation's newest pending
            outbox row or None).
        """
        return await self._run(self._finish_and_claim_next, channel, conv, finished, now)

    def _finish_and_claim_next(
        self, channel: str, conv: Conversation, finished: Optional[Finished], now: datetime
    ) -> Tuple[Optional[InboundItem], Optional[int]]:
        with self.engine.begin() as conn:
            if finished is not None:
                self._finish(conn, *finished, now)
            item = self._claim(conn, channel, conv)
            # Also tell whether replies wait to be sent (e.g. after a restart, or stored by
            # another process), so the worker need not ask in a round trip of its own.
            newest = conn.execute(
                sa.select(sa.func.max(outbox.c.id)).where(
                    outbox.c.channel == channel,
                    outbox.c.account == conv[0],
                    outbox.c.customer == conv[1],
                    outbox.c.state == OutboxState.PENDING.value,
                )
            ).scalar()
        return item, newest

    async def finish_inbound(
        self, item_id: int, state: InboxState, now: datetime, error: Optional[str] = None
    ) -> None:
        """Record the end of one processing attempt (done, failed, or back to pending)."""
        await self._run(self._finish_inbound, item_id, state, now, error)

    def _finish_inbound(self, item_id: int, state: InboxState, now: datetime, error: Optional[str]) -> None:
        with self.engine.begin() as conn:
            self._finish(conn, item_id, state, error, now)

    @staticmethod
    def _finish(conn: Connection, item_id: int, state: InboxState, error: Optional[str], now: datetime) -> None:
        finished = None if state is InboxState.PENDING else to_db(now)
        conn.execute(
            inbox.update()
            .where(inbox.c.id == item_id)
            .values(state=state.value, finished_at=finished, last_error=(error or None) and error[:255])
        )

    async def inbound(self, channel: str, message_id: str) -> Optional[Tuple[InboundItem, InboxState]]:
        """Look up one inbound item and its state (tests, diagnostics)."""
        return await self._run(self._inbound_by_id, channel, message_id)

    def _inbound_by_id(self, channel: str, message_id: str) -> Optional[Tuple[InboundItem, InboxState]]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(inbox).where(inbox.c.channel == channel, inbox.c.message_id == message_id)
            ).first()
        return None if row is None else (inbound_from_row(row), InboxState(row.state))

    async def recover(self, channel: str) -> List[Conversation]:
        """Reset interrupted processing; list conversations with unfinished work."""
        return await self._run(self._recover, channel)

    def _recover(self, channel: str) -> List[Conversation]:
        with self.engine.begin() as conn:
            conn.execute(
                inbox.update()
                .where(inbox.c.channel == channel, inbox.c.state == InboxState.PROCESSING.value)
                .values(state=InboxState.PENDING.value)
            )
            found = set()
            for table in (inbox, outbox):
                query = (
                    sa.select(table.c.account, table.c.customer)
                    .where(table.c.channel == channel, table.c.state == "pending")
                    .distinct()
                )
                found.update((row.account, row.customer) for row in conn.execute(query))
        return sorted(found)

    # -- outbox ------------------------------------------------------------

    async def enqueue(self, message: OutboundMessage, now: datetime) -> Tuple[OutboundMessage, bool]:
        """Store an outgoing message unless its idempotency key exists; (stored, created)."""
        return await self._run(self._enqueue, message, now)

    def _enqueue(
        self, message: OutboundMessage, now: datetime, conn: Optional[Connection] = None
    ) -> Tuple[OutboundMessage, bool]:
        # One statement in one transaction on the hot path (every reply): insert unless
        # the key exists; only a duplicate key costs a second read.
        values = {
            "channel": message.channel,
            "idempotency_key": message.idempotency_key,
            "account": message.account,
            "customer": message.customer,
            "inbound_message_id": message.inbound_message_id,
            "kind": message.kind,
            "free_form": message.free_form,
            "payload": json.dumps(message.payload, ensure_ascii=False),
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "created_at": to_db(now),
            "updated_at": to_db(now),
        }
        stmt = self._dialect_insert(outbox).on_conflict_do_nothing(index_elements=["channel", "idempotency_key"])
        if conn is None:
            with self.engine.begin() as own:
                result = own.execute(stmt, values)
        else:
            result = conn.execute(stmt, values)
        new_id = result.inserted_primary_key[0] if result.rowcount == 1 else None
        if new_id is None:
            existing = self._outbox_by_key(message.channel, message.idempotency_key, conn)
            if existing is None:  # cannot happen: the conflict was on this key
                raise IntegrityError("outbox insert", None, Exception("key neither inserted nor found"))
            return existing.message, False
        # The row holds exactly these values (state pending, no attempts yet).
        stored = dataclasses.replace(message, id=int(new_id), attempts=0, payload=json.loads(values["payload"]))
        return stored, True

    async def enqueue_reply(
        self, message: OutboundMessage, now: datetime
    ) -> Tuple[OutboundMessage, bool, bool, Optional[datetime]]:
        """:meth:`enqueue`, plus what sending it right away needs, in the same transaction.

        Returns:
            (stored, created, first in line: no older message of the conversation is
            pending, when the customer last wrote or None).  A reply that is first in
            line can be sent without reading the outbox again.
        """
        return await self._run(self._enqueue_reply, message, now)

    def _enqueue_reply(
        self, message: OutboundMessage, now: datetime
    ) -> Tuple[OutboundMessage, bool, bool, Optional[datetime]]:
        with self.engine.begin() as conn:
            stored, created = self._enqueue(message, now, conn)
            if not created:
                return stored, False, False, None
            conv = (message.account, message.customer)
            older = (
                oldest_pending(outbox, message.channel, conv)
                .with_only_columns(outbox.c.id)
                .where(outbox.c.id < stored.id)
                .scalar_subquery()
            )
            row = conn.execute(
                sa.select(older.label("older"), _window_of(message.channel, conv).label("last_inbound_at"))
            ).first()
        assert row is not None
        return stored, True, row.older is None, from_db(row.last_inbound_at)

    def _outbox_by_key(self, channel: str, key: str, conn: Optional[Connection] = None) -> Optional[OutboxRecord]:
        return self._first_outbox(
            sa.select(outbox).where(outbox.c.channel == channel, outbox.c.idempotency_key == key), conn
        )

    def _first_outbox(self, query: Any, conn: Optional[Connection] = None) -> Optional[OutboxRecord]:
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with self.engine.connect() as own:
                row = own.execute(query).first()
        return None if row is None else outbox_from_row(row)

    async def next_pending_outbound(self, channel: str, conv: Conversation) -> Optional[OutboxRecord]:
        """The oldest pending outgoing message of a conversation (sends keep this order)."""
        return await self._run(self._next_pending_outbound, channel, conv)

    def _next_pending_outbound(self, channel: str, conv: Conversation) -> Optional[OutboxRecord]:
        return self._first_outbox(oldest_pending(outbox, channel, conv))

    async def pending_outbound(
        self, channel: str, conv: Conversation, limit: int = 50
    ) -> Tuple[List[OutboxRecord], Optional[datetime]]:
        """The oldest pending outgoing messages of a conversation, and its window.

        One read for a whole batch of sends: the messages in send order (at most
        ``limit``) and when the customer last wrote (``last_inbound_at``, None if never),
        read in the same snapshot so the window check needs no query of its own.
        """
        return await self._run(self._pending_outbound, channel, conv, limit)

    def _pending_outbound(
        self, channel: str, conv: Conversation, limit: int
    ) -> Tuple[List[OutboxRecord], Optional[datetime]]:
        window = _window_of(channel, conv).label("window_last_inbound_at")
        query = oldest_pending(outbox, channel, conv).add_columns(window).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            return [], None
        return [outbox_from_row(row) for row in rows], from_db(rows[0].window_last_inbound_at)

    async def update_outbound(
        self,
        message_id: int,
        now: datetime,
        *,
        state: OutboxState,
        attempts: int,
        next_attempt_at: Optional[datetime] = None,
        provider_message_id: Optional[str] = None,
        error_code: Optional[int] = None,
        error_message: Optional[str] = None,
    ) -> None:
        """Record the outcome of a send attempt."""
        values = {
            "state": state.value,
            "attempts": attempts,
            "next_attempt_at": to_db(next_attempt_at),
            "error_code": error_code,
            "error_message": error_message[:255] if error_message else None,
            "updated_at": to_db(now),
        }
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        await self._run(self._update_outbound, message_id, values)

    def _update_outbound(self, message_id: int, values: Dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == message_id).values(**values))

    async def outbound_by_provider_id(self, channel: str, provider_message_id: str) -> Optional[OutboxRecord]:
        """The outgoing message a provider id refers to, if we sent it."""
        return await self._run(self._outbound_by_provider_id, channel, provider_message_id)

    def _outbound_by_provider_id(self, channel: str, provider_message_id: str) -> Optional[OutboxRecord]:
        return self._first_outbox(
            sa.select(outbox).where(outbox.c.channel == channel, outbox.c.provider_message_id == provider_message_id)
        )

    async def outbound_records(self, channel: str, customer: Optional[str] = None) -> List[OutboxRecord]:
        """Every stored outgoing message of a channel (optionally of one customer), oldest first."""
        return await self._run(self._outbound_records, channel, customer)

    def _outbound_records(self, channel: str, customer: Optional[str]) -> List[OutboxRecord]:
        query = sa.select(outbox).where(outbox.c.channel == channel).order_by(outbox.c.id)
        if customer is not None:
            query = query.where(outbox.c.customer == customer)
        with self.engine.connect() as conn:
            return [outbox_from_row(row) for row in conn.execute(query)]

    # -- statuses and windows ----------------------------------------------

    async def record_statuses(self, updates: Sequence[StatusUpdate], now: datetime) -> List[StatusUpdate]:
        """Store each (message, status) once; return the updates not stored before.

        Duplicates and statuses of unknown messages are fine.
        """
        return await self._run(self._record_statuses, updates, now)

    def _record_statuses(self, updates: Sequence[StatusUpdate], now: datetime) -> List[StatusUpdate]:
        stmt = self._dialect_insert(message_status).on_conflict_do_nothing(
            index_elements=["channel", "provider_message_id", "status"]
        )
        new: List[StatusUpdate] = []
        with self.engine.begin() as conn:
            for update in updates:
                row = {
                    "channel": update.channel,
                    "provider_message_id": update.provider_message_id,
                    "status": update.status[:32],
                    "rank": STATUS_RANK.get(update.status, 0),
                    "occurred_at": to_db(update.timestamp),
                    "recorded_at": to_db(now),
                    "error_code": update.error_code,
                    "error_title": update.error_title[:255] if update.error_title else None,
                }
                if conn.execute(stmt, row).rowcount:
                    new.append(update)
        return new

    async def current_status(self, channel: str, provider_message_id: str) -> Optional[StatusRecord]:
        """The highest-ranked status ever reported for a message (None if none)."""
        return await self._run(self._current_status, channel, provider_message_id)

    def _current_status(self, channel: str, provider_message_id: str) -> Optional[StatusRecord]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(message_status)
                .where(
                    message_status.c.channel == channel,
                    message_status.c.provider_message_id == provider_message_id,
                )
                .order_by(message_status.c.rank.desc(), message_status.c.recorded_at.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return StatusRecord(
            provider_message_id=row.provider_message_id,
            status=row.status,
            timestamp=from_db(row.occurred_at),
            error_code=row.error_code,
            error_title=row.error_title,
        )

    async def last_inbound_at(self, channel: str, account: str, customer: str) -> Optional[datetime]:
        """When the customer last wrote to ``account`` (None if never recorded)."""
        return await self._run(self._last_inbound_at, channel, account, customer)

    def _last_inbound_at(self, channel: str, account: str, customer: str) -> Optional[datetime]:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(contact_window.c.last_inbound_at).where(
                    contact_window.c.channel == channel,
                    contact_window.c.account == account,
                    contact_window.c.customer == customer,
                )
            ).scalar()
        return from_db(value)

    async def last_account(self, channel: str, customer: str) -> Optional[str]:
        """The business identity the customer wrote to most recently (None if never)."""
        return await self._run(self._last_account, channel, customer)

    def _last_account(self, channel: str, customer: str) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(contact_window.c.account)
                .where(contact_window.c.channel == channel, contact_window.c.customer == customer)
                .order_by(contact_window.c.last_inbound_at.desc())
                .limit(1)
            ).scalar()

    # -- retention ---------------------------------------------------------

    async def prune(self, channel: str, before: datetime, statuses_before: datetime) -> int:
        """Delete finished rows older than the retry horizon; return how many went."""
        return await self._run(self._prune, channel, before, statuses_before)

    def _prune(self, channel: str, before: datetime, statuses_before: datetime) -> int:
        done_inbox = [InboxState.DONE.value, InboxState.FAILED.value]
        done_outbox = [OutboxState.SENT.value, OutboxState.FAILED.value, OutboxState.SKIPPED.value]
        rules = [
            (inbox, inbox.c.state.in_(done_inbox) & (inbox.c.received_at < to_db(before))),
            (outbox, outbox.c.state.in_(done_outbox) & (outbox.c.updated_at < to_db(before))),
            (message_status, message_status.c.recorded_at < to_db(statuses_before)),
            (contact_window, contact_window.c.last_inbound_at < to_db(statuses_before)),
        ]
        removed = 0
        with self.engine.begin() as conn:
            for table, condition in rules:
                removed += conn.execute(table.delete().where(table.c.channel == channel, condition)).rowcount
        return removed


def _window_of(channel: str, conv: Conversation) -> Any:
    """Scalar subquery: when the customer of ``conv`` last wrote (NULL if never)."""
    return (
        sa.select(contact_window.c.last_inbound_at)
        .where(
            contact_window.c.channel == channel,
            contact_window.c.account == conv[0],
            contact_window.c.customer == conv[1],
        )
        .scalar_subquery()
    )

"""SQL persistence of the delivery layer: inbox, outbox, statuses, windows (blocking calls).

One implementation for SQLite and PostgreSQL through SQLAlchemy Core; the dialects
differ only where the database offers more (``FOR UPDATE SKIP LOCKED`` and advisory
locks on PostgreSQL, one writer at a time on SQLite).  :class:`bot.delivery.DeliveryStore`
runs these calls on a thread pool for the event loop.

Several instances may share one PostgreSQL database: inbox rows and outbox sends are
*claimed* with a lease (:mod:`bot.storage.claims`), one conversation is worked on by
one instance at a time and in order, and recovery and pruning may run in every
instance at once.
"""
from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

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
    utcnow,
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
from bot.delivery import in_doubt
from bot.storage.claims import (
    RELEASED,
    claim_values,
    claimable_by,
    configured_lease,
    instance_id,
    lease_live,
    pg_lock,
)
from bot.storage.engine import is_sqlite, read_only
from bot.storage.migrations import migrate
from bot.storage.ports import Finished
from bot.storage.schema import contact_window, inbox, message_status, outbox

_PENDING, _PROCESSING = InboxState.PENDING.value, InboxState.PROCESSING.value


class SqlDelivery:
    """Durable state of one or more channels (rows are keyed by channel name).

    Args:
        engine: from :func:`bot.storage.get_engine` (SQLite or PostgreSQL).
        owner: this instance's claimer id (default :func:`bot.storage.claims.instance_id`).
        lease: how long a claim holds unless finished (default :func:`bot.storage.claims.configured_lease`).
        in_doubt_window: how long a send interrupted mid-request waits for its status
            before it is sent again (default :func:`bot.delivery.in_doubt.configured_window`).
    """

    def __init__(self, engine: Engine, *, owner: Optional[str] = None, lease: Optional[timedelta] = None,
                 in_doubt_window: Optional[timedelta] = None) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database dialect: {engine.dialect.name}")
        self.engine = engine
        self.owner = owner or instance_id(engine)
        self.lease = lease or configured_lease()
        self.in_doubt_window = in_doubt.configured_window() if in_doubt_window is None else in_doubt_window
        self._insert = sqlite.insert if is_sqlite(engine) else postgresql.insert

    def setup(self) -> None:
        """Apply pending schema migrations (idempotent)."""
        migrate(self.engine)

    # -- inbox -------------------------------------------------------------

    def accept(self, items: Sequence[InboundItem], now: datetime) -> List[InboundItem]:
        """Store new inbound items; return those not seen before (stored ids set)."""
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
                "state": _PENDING,
                "attempts": 0,
                "accept_token": token,
            }
            for item in items
        ]
        if not rows:
            return []
        stmt = self._insert(inbox).on_conflict_do_nothing(index_elements=["channel", "message_id"])
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
        stmt = self._insert(contact_window)
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

    def claim_next_inbound(self, channel: str, conv: Conversation,
                           now: Optional[datetime] = None) -> Optional[InboundItem]:
        """Claim the oldest unfinished item of a conversation for this instance and return it.

        None when the conversation has nothing to do, or another instance holds a live
        claim on its oldest unfinished item (the conversation is busy there: order).
        An item whose claimer's lease has passed is taken over (its attempt counts).
        """
        with self.engine.begin() as conn:
            return self._claim(conn, channel, conv, to_db(now or utcnow()))

    def _claim(self, conn: Connection, channel: str, conv: Conversation, now: datetime) -> Optional[InboundItem]:
        # The conversation's oldest unfinished row, except rows this instance is processing
        # (its own worker holds them; the next one may be claimed meanwhile).
        mine = sa.and_(inbox.c.state == _PROCESSING, inbox.c.claimed_by == self.owner)
        head = (
            sa.select(sa.func.min(inbox.c.id))
            .where(
                inbox.c.channel == channel,
                inbox.c.account == conv[0],
                inbox.c.customer == conv[1],
                inbox.c.state.in_([_PENDING, _PROCESSING]),
                ~mine,
            )
            .scalar_subquery()
        )
        # SKIP LOCKED: a head row another instance is claiming right now is skipped, and
        # since only the head is selected, nothing is claimed (no later row overtakes it).
        row = conn.execute(
            sa.select(inbox).where(inbox.c.id == head).with_for_update(skip_locked=True, of=inbox)
        ).first()
        if row is None or (row.state == _PROCESSING and lease_live(row, now)):
            return None
        conn.execute(
            inbox.update()
            .where(inbox.c.id == row.id)
            .values(state=_PROCESSING, attempts=inbox.c.attempts + 1, **claim_values(self.owner, now, self.lease))
        )
        item = inbound_from_row(row)
        return dataclasses.replace(item, attempts=item.attempts + 1)

    def finish_and_claim_next(
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
        with self.engine.begin() as conn:
            if finished is not None:
                self._finish(conn, *finished, now)
            item = self._claim(conn, channel, conv, to_db(now))
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

    def finish_inbound(self, item_id: int, state: InboxState, now: datetime, error: Optional[str] = None) -> None:
        """Record the end of one processing attempt (done, failed, or back to pending)."""
        with self.engine.begin() as conn:
            self._finish(conn, item_id, state, error, now)

    def _finish(self, conn: Connection, item_id: int, state: InboxState, error: Optional[str], now: datetime) -> None:
        finished = None if state is InboxState.PENDING else to_db(now)
        conn.execute(
            inbox.update()
            # Not when another instance took the item over (this claim's lease had passed).
            .where(inbox.c.id == item_id, sa.or_(inbox.c.claimed_by.is_(None), inbox.c.claimed_by == self.owner))
            .values(state=state.value, finished_at=finished, last_error=(error or None) and error[:255], **RELEASED)
        )

    def inbound(self, channel: str, message_id: str) -> Optional[Tuple[InboundItem, InboxState]]:
        """Look up one inbound item and its state (tests, diagnostics)."""
        with read_only(self.engine) as conn:
            row = conn.execute(
                sa.select(inbox).where(inbox.c.channel == channel, inbox.c.message_id == message_id)
            ).first()
        return None if row is None else (inbound_from_row(row), InboxState(row.state))

    def recover(self, channel: str, now: Optional[datetime] = None) -> List[Conversation]:
        """Free this instance's interrupted claims and expired ones; list conversations with work.

        Safe while other instances run: their live claims are left alone.  Instances
        recovering at the same time take turns (a PostgreSQL advisory lock).
        """
        at = to_db(now or utcnow())
        with self.engine.begin() as conn:
            pg_lock(conn, f"recover {channel}")
            conn.execute(
                inbox.update()
                .where(inbox.c.channel == channel, inbox.c.state == _PROCESSING, claimable_by(inbox, self.owner, at))
                .values(state=_PENDING, **RELEASED)
            )
            conn.execute(
                outbox.update()
                .where(outbox.c.channel == channel, outbox.c.state == OutboxState.PENDING.value,
                       outbox.c.claimed_by.isnot(None), claimable_by(outbox, self.owner, at))
                .values(**RELEASED)
            )
            found: Set[Conversation] = set()
            for table in (inbox, outbox):
                query = (
                    sa.select(table.c.account, table.c.customer)
                    .where(table.c.channel == channel, table.c.state == _PENDING)
                    .distinct()
                )
                found.update((row.account, row.customer) for row in conn.execute(query))
        return sorted(found)

    def waiting_conversations(self, channel: str, now: Optional[datetime] = None,
                              limit: int = 1000) -> List[Conversation]:
        """Conversations whose work nobody is doing: the safety net's (bot.gateway.sweep) look.

        Pending inbox items, items whose claimer's lease has passed, and outbox rows
        due to be sent that nobody holds (never attempted, or a retry whose instance is
        gone).  Rows a live worker holds are not listed.  Never writes; on SQLite it
        does not take the write lock a receiver may be waiting for.
        """
        at = to_db(now or utcnow())
        expired = sa.and_(inbox.c.state == _PROCESSING, inbox.c.lease_until < at)
        waiting_in = sa.select(inbox.c.account, inbox.c.customer).where(
            inbox.c.channel == channel, sa.or_(inbox.c.state == _PENDING, expired)
        )
        due = sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= at)
        unsent_out = sa.select(outbox.c.account, outbox.c.customer).where(
            outbox.c.channel == channel,
            outbox.c.state == OutboxState.PENDING.value,
            due,
            sa.or_(outbox.c.claimed_by.is_(None), outbox.c.lease_until < at),
        )
        with read_only(self.engine) as conn:
            rows = conn.execute(sa.union(waiting_in, unsent_out).limit(limit)).fetchall()
        return sorted((str(account), str(customer)) for account, customer in rows)

    # -- outbox ------------------------------------------------------------

    def enqueue(self, message: OutboundMessage, now: datetime,
                state: OutboxState = OutboxState.PENDING) -> Tuple[OutboundMessage, bool]:
        """Store an outgoing message unless its idempotency key exists; (stored, created).

        ``state`` SKIPPED records a message refused before any attempt (a person's free-form
        text after the window closed): kept for the record and the reports, never sent.
        """
        with self.engine.begin() as conn:
            return self._enqueue(conn, message, now, state=state)

    def _enqueue(self, conn: Connection, message: OutboundMessage, now: datetime,
                 claim: bool = False, state: OutboxState = OutboxState.PENDING) -> Tuple[OutboundMessage, bool]:
        # One statement on the hot path (every reply): insert unless the key exists;
        # only a duplicate key costs a second read.
        values = {
            "channel": message.channel,
            "idempotency_key": message.idempotency_key,
            "account": message.account,
            "customer": message.customer,
            "inbound_message_id": message.inbound_message_id,
            "kind": message.kind,
            "free_form": message.free_form,
            "payload": json.dumps(message.payload, ensure_ascii=False),
            "state": state.value,
            "attempts": 0,
            "created_at": to_db(now),
            "updated_at": to_db(now),
            # Claimed means "sent by this instance right now": marked as a send under way
            # in the same statement (no transaction of its own before the request).
            **({**claim_values(self.owner, to_db(now), self.lease), "sending_since": to_db(now)} if claim else {}),
        }
        stmt = self._insert(outbox).on_conflict_do_nothing(index_elements=["channel", "idempotency_key"])
        result = conn.execute(stmt, values)
        new_id = result.inserted_primary_key[0] if result.rowcount == 1 else None
        if new_id is None:
            existing = self._first_outbox(
                sa.select(outbox).where(outbox.c.channel == message.channel,
                                        outbox.c.idempotency_key == message.idempotency_key), conn)
            if existing is None:  # cannot happen: the conflict was on this key
                raise IntegrityError("outbox insert", None, Exception("key neither inserted nor found"))
            return existing.message, False
        # The row holds exactly these values (state pending, no attempts yet).
        stored = dataclasses.replace(message, id=int(new_id), attempts=0, payload=json.loads(values["payload"]))
        return stored, True

    def enqueue_reply(
        self, message: OutboundMessage, now: datetime
    ) -> Tuple[OutboundMessage, bool, bool, Optional[datetime]]:
        """:meth:`enqueue`, plus what sending it right away needs, in the same transaction.

        Returns:
            (stored, created, first in line: no older message of the conversation is
            pending, when the customer last wrote or None).  A reply that is first in
            line is stored already claimed by this instance and marked as a send under
            way (``sending_since``), and can be sent without reading the outbox again.
        """
        conv = (message.account, message.customer)
        with self.engine.begin() as conn:
            # Read before the insert: every pending row of the conversation is older than this one.
            older = oldest_pending(outbox, message.channel, conv).with_only_columns(outbox.c.id).scalar_subquery()
            row = conn.execute(
                sa.select(older.label("older"), _window_of(message.channel, conv).label("last_inbound_at"))
            ).first()
            assert row is not None
            first = row.older is None
            stored, created = self._enqueue(conn, message, now, claim=first)
        if not created:
            return stored, False, False, None
        return stored, True, first, from_db(row.last_inbound_at)

    def _first_outbox(self, query: Any, conn: Optional[Connection] = None) -> Optional[OutboxRecord]:
        if conn is not None:
            row = conn.execute(query).first()
        else:
            with read_only(self.engine) as own:
                row = own.execute(query).first()
        return None if row is None else outbox_from_row(row)

    def next_pending_outbound(self, channel: str, conv: Conversation) -> Optional[OutboxRecord]:
        """The oldest pending outgoing message of a conversation (sends keep this order)."""
        return self._first_outbox(oldest_pending(outbox, channel, conv))

    def pending_outbound(
        self, channel: str, conv: Conversation, limit: int = 50
    ) -> Tuple[List[OutboxRecord], Optional[datetime]]:
        """The oldest pending outgoing messages of a conversation, and its window (a read; no claim).

        The messages in send order (at most ``limit``) and when the customer last wrote
        (``last_inbound_at``, None if never), read in the same snapshot.
        """
        window = _window_of(channel, conv).label("window_last_inbound_at")
        query = oldest_pending(outbox, channel, conv).add_columns(window).limit(limit)
        with read_only(self.engine) as conn:
            rows = conn.execute(query).all()
        if not rows:
            return [], None
        return [outbox_from_row(row) for row in rows], from_db(rows[0].window_last_inbound_at)

    def claim_outbound(
        self, channel: str, conv: Conversation, now: datetime, limit: int = 50
    ) -> Tuple[List[OutboxRecord], Optional[datetime]]:
        """Claim the oldest pending outgoing messages of a conversation for sending; and its window.

        Only the front of the line is claimed: the messages from the oldest pending one
        on, up to the first that another instance holds (it sends that one, and so keeps
        the order).  Empty when another instance sends the conversation's messages.

        A row whose send was under way in a process that is gone is *in doubt*
        (:mod:`bot.delivery.in_doubt`): its ``next_attempt_at`` is moved to the end of
        the in-doubt window, so the caller waits for its status webhook before sending it again.
        """
        at = to_db(now)
        window = _window_of(channel, conv).label("window_last_inbound_at")
        query = oldest_pending(outbox, channel, conv).add_columns(window).limit(limit)
        with self.engine.begin() as conn:
            locked = conn.execute(query.with_for_update(skip_locked=True, of=outbox)).all()
            if is_sqlite(self.engine):
                line = [row.id for row in locked]  # one writer: nothing was skipped
            else:  # the true line, with the rows another claimer locks right now
                line = list(conn.execute(query.with_only_columns(outbox.c.id)).scalars())
            by_id = {row.id: row for row in locked}
            front = []
            doubtful: Dict[int, datetime] = {}
            for row_id in line:
                row = by_id.get(row_id)
                if row is None or (row.claimed_by not in (None, self.owner) and lease_live(row, at)):
                    break
                front.append(row)
                if in_doubt.in_doubt(row, self.owner, lease_live(row, at)):
                    doubtful[row.id] = in_doubt.not_before(row, self.in_doubt_window)
            if front:
                conn.execute(outbox.update().where(outbox.c.id.in_([row.id for row in front]))
                             .values(**claim_values(self.owner, at, self.lease)))
            for row_id, due in doubtful.items():  # the claim is ours now: the window is written down
                conn.execute(outbox.update().where(outbox.c.id == row_id).values(next_attempt_at=due))
        if not front:
            return [], None
        records = [outbox_from_row(row) for row in front]
        records = [dataclasses.replace(r, next_attempt_at=from_db(doubtful[r.message.id]))
                   if r.message.id in doubtful else r for r in records]
        return records, from_db(front[0].window_last_inbound_at)

    def mark_sending(self, message_id: int, now: datetime) -> None:
        """Record that a send attempt of the row starts now, before its request leaves (:mod:`bot.delivery.in_doubt`)."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == message_id).values(sending_since=to_db(now)))

    def update_outbound(
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
        only_pending: bool = False,
    ) -> None:
        """Record the outcome of a send attempt (and release the claim: the attempt is over).

        Args:
            only_pending: change the row only while it is pending: a status webhook
                (its key echoed back) may have settled it meanwhile, and an attempt's
                late outcome must not undo that (a failure would send it again; a
                success would overwrite a "failed" status).
        """
        values = {
            "state": state.value,
            "attempts": attempts,
            "next_attempt_at": to_db(next_attempt_at),
            "error_code": error_code,
            "error_message": error_message[:255] if error_message else None,
            "updated_at": to_db(now),
            "sending_since": None,
            **RELEASED,
        }
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        where = [outbox.c.id == message_id]
        if only_pending:
            where.append(outbox.c.state == OutboxState.PENDING.value)
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(*where).values(**values))

    def outbound_by_provider_id(self, channel: str, provider_message_id: str) -> Optional[OutboxRecord]:
        """The outgoing message a provider id refers to, if we sent it."""
        return self._first_outbox(
            sa.select(outbox).where(outbox.c.channel == channel, outbox.c.provider_message_id == provider_message_id)
        )

    def outbound_records(self, channel: str, customer: Optional[str] = None) -> List[OutboxRecord]:
        """Every stored outgoing message of a channel (optionally of one customer), oldest first."""
        query = sa.select(outbox).where(outbox.c.channel == channel).order_by(outbox.c.id)
        if customer is not None:
            query = query.where(outbox.c.customer == customer)
        with read_only(self.engine) as conn:
            return [outbox_from_row(row) for row in conn.execute(query)]

    # -- statuses and windows ----------------------------------------------

    def record_statuses(
        self, updates: Sequence[StatusUpdate], now: datetime
    ) -> Tuple[List[StatusUpdate], List[Conversation]]:
        """Store each (message, status) once, and settle the sends they prove; in ONE transaction.

        A status carrying an outbox key (``callback_key``) of a row still pending marks
        that row sent with the provider's id: its sender died (or has not yet recorded
        the answer) after the provider accepted it (:mod:`bot.delivery.in_doubt`).
        Duplicates and statuses of unknown messages are fine.

        Returns:
            (the updates not stored before, the conversations with a row settled here
            that no live sender was sending: whoever sends them must be woken).
        """
        stmt = self._insert(message_status).on_conflict_do_nothing(
            index_elements=["channel", "provider_message_id", "status"]
        )
        new: List[StatusUpdate] = []
        settled: Set[Conversation] = set()
        with self.engine.begin() as conn:
            for update in updates:
                if update.callback_key:
                    conv = self._settle(conn, update, now)
                    if conv is not None:
                        settled.add(conv)
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
        return new, sorted(settled)

    def _settle(self, conn: Connection, update: StatusUpdate, now: datetime) -> Optional[Conversation]:
        """Mark the pending row whose key the status echoes as sent; its conversation, or None."""
        where = [outbox.c.channel == update.channel, outbox.c.idempotency_key == update.callback_key,
                 outbox.c.state == OutboxState.PENDING.value]
        if update.account:
            where.append(outbox.c.account == update.account)
        row = conn.execute(sa.select(outbox).where(*where)).first()
        if row is None:
            return None
        at = to_db(now)
        # Nobody is sending it right now (its sender died, or waits out the in-doubt window):
        # someone must be woken for the replies behind it.  A live sender just goes on.
        waiting = not lease_live(row, at) or (row.next_attempt_at is not None and row.next_attempt_at > at)
        conn.execute(outbox.update().where(outbox.c.id == row.id, outbox.c.state == OutboxState.PENDING.value).values(
            state=OutboxState.SENT.value, provider_message_id=update.provider_message_id, next_attempt_at=None,
            attempts=sa.case((outbox.c.attempts < 1, 1), else_=outbox.c.attempts),  # it went out: one attempt at least
            sending_since=None, error_code=None, error_message=None, updated_at=to_db(now), **RELEASED))
        return (str(row.account), str(row.customer)) if waiting else None

    def current_status(self, channel: str, provider_message_id: str) -> Optional[StatusRecord]:
        """The highest-ranked status ever reported for a message (None if none)."""
        with read_only(self.engine) as conn:
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

    def last_inbound_at(self, channel: str, account: str, customer: str) -> Optional[datetime]:
        """When the customer last wrote to ``account`` (None if never recorded)."""
        with read_only(self.engine) as conn:
            value = conn.execute(sa.select(_window_of(channel, (account, customer)))).scalar()
        return from_db(value)

    def last_account(self, channel: str, customer: str) -> Optional[str]:
        """The business identity the customer wrote to most recently (None if never)."""
        with read_only(self.engine) as conn:
            return conn.execute(
                sa.select(contact_window.c.account)
                .where(contact_window.c.channel == channel, contact_window.c.customer == customer)
                .order_by(contact_window.c.last_inbound_at.desc())
                .limit(1)
            ).scalar()

    # -- retention ---------------------------------------------------------

    def prune(self, channel: str, before: datetime, statuses_before: datetime) -> int:
        """Delete finished rows older than the retry horizon; return how many went.

        When several instances prune at once, one does the work and the others return
        0 at once (a PostgreSQL advisory lock they do not wait for): two bulk deletes of
        the same rows would only wait for each other.
        """
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
            if not pg_lock(conn, f"prune {channel}", wait=False):
                return 0
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

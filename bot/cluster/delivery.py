"""The delivery service when several Rasa servers share the delivery database.

:class:`ClusterDelivery` is :class:`bot.delivery.Delivery` with three changes, all
about "whose conversation is it":

- its worker and its sender run only while this instance holds the conversation's
  lease (:mod:`bot.cluster.lease`); a kick for a conversation another instance holds
  does nothing here, because the holder looks for work once more after it lets go;
- recovery is per conversation: the fresh holder of a lease resets that
  conversation's rows left "processing" (by an instance that died: a live one would
  still hold the lease).  The one-process ``start()`` reset every "processing" row of
  the channel, which would re-run turns that other live instances are in the middle of;
- :meth:`process_conversation` is what a work-queue consumer calls: wait for the lease,
  work the conversation's pending rows, and only then return (the queue message is
  acknowledged after it).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.cluster.lease import ConversationLeases, backend_for
from bot.cluster.renewing import RenewingDelivery, of_conversation
from bot.delivery import DeliveryStore
from bot.delivery._rows import to_db, utcnow
from bot.storage.claims import RELEASED
from bot.storage.schema import inbox, outbox

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

#: Immediate re-looks after letting go of a conversation before they are spaced out
#: (a row that stays pending without a retry timer must not make the instance spin).
MAX_QUICK_RELOOKS = 5
RELOOK_PAUSE_S = 1.0


def reset_orphans(engine: Engine, channel: str, conv: Conversation) -> int:
    """Rows of ``conv`` left "processing" by a previous holder back to "pending", and their
    row claims released (blocking).

    Only the holder of the conversation's lease calls this, so whoever claimed these rows
    is gone: without releasing the row claims too, a killed server's rows would wait for
    their row lease (``MAJLIS_CLAIM_LEASE_S``, minutes) before anyone could take them.
    """
    with engine.begin() as conn:
        conn.execute(outbox.update().where(of_conversation(outbox, channel, conv), outbox.c.state == "pending",
                                           outbox.c.claimed_by.isnot(None)).values(**RELEASED))
        return conn.execute(
            inbox.update().where(of_conversation(inbox, channel, conv), inbox.c.state == "processing")
            .values(state="pending", **RELEASED)
        ).rowcount


def has_work(engine: Engine, channel: str, conv: Conversation, now: datetime) -> bool:
    """Whether ``conv`` has pending inbox rows, or pending replies due now (blocking)."""
    due = sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= to_db(now))
    waiting_in = sa.select(inbox.c.id).where(of_conversation(inbox, channel, conv),
                                             inbox.c.state == "pending").limit(1)
    waiting_out = sa.select(outbox.c.id).where(of_conversation(outbox, channel, conv),
                                               outbox.c.state == "pending", due).limit(1)
    with engine.connect() as conn:
        return conn.execute(waiting_in).first() is not None or conn.execute(waiting_out).first() is not None


def conversations_with_work(engine: Engine, channel: str) -> List[Conversation]:
    """Conversations with pending or interrupted inbox rows, or pending replies (blocking)."""
    found = set()
    with engine.connect() as conn:
        for table, states in ((inbox, ("pending", "processing")), (outbox, ("pending",))):
            query = sa.select(table.c.account, table.c.customer).where(
                table.c.channel == channel, table.c.state.in_(states)).distinct()
            found.update((str(row.account), str(row.customer)) for row in conn.execute(query))
    return sorted(found)


class _RecoverWithoutReset:
    """The store, except that ``recover`` only lists work (resets happen under each lease)."""

    def __init__(self, store: DeliveryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def recover(self, channel: str, now: Optional[datetime] = None) -> List[Conversation]:
        return await self._store.run_blocking(conversations_with_work, self._store.engine, channel)


class ClusterDelivery(RenewingDelivery):
    """:class:`~bot.delivery.Delivery` whose conversations are worked under a lease (and whose row
    claims are renewed while it works them: :class:`~bot.cluster.renewing.RenewingDelivery`).

    Args:
        leases: this process's leases (default: advisory locks on the store's database).
        max_held: conversations held at once at most (each takes a PostgreSQL connection).
        **kwargs: as for :class:`~bot.delivery.Delivery`.
    """

    def __init__(self, *, leases: Optional[ConversationLeases] = None, max_held: int = 10, **kwargs: Any) -> None:
        store: DeliveryStore = kwargs.pop("store")
        super().__init__(store=_RecoverWithoutReset(store), **kwargs)  # type: ignore[arg-type]
        self.leases = leases or ConversationLeases(
            self.channel, backend_for(store.engine, max_held=max_held),
            on_acquired=lambda conv: self._reset_orphans(store.engine, conv))
        self.orphans_reset = 0
        self._relooks: dict = {}

    def _reset_orphans(self, engine: Engine, conv: Conversation) -> None:
        reset = reset_orphans(engine, self.channel, conv)
        if reset:
            self.orphans_reset += reset
            logger.info("%s: %d message(s) left in processing by a stopped instance will be processed again",
                        self.channel, reset)

    async def process_conversation(self, conv: Conversation, wait: float = 30.0) -> bool:
        """Work ``conv``'s pending rows here and return when its worker is idle.

        Returns:
            False when another instance held the conversation for all of ``wait`` seconds
            (the caller retries later: its queue message goes back to the queue).
        """
        if self._stopping or not await self.leases.acquire(conv, wait):
            return False
        try:
            self.kick(conv)
            worker = self._workers.get(conv)
            if worker is not None:
                await asyncio.shield(worker)  # a cancelled consumer must not cancel the turn
        finally:
            await self._let_go(conv)
        return not self._stopping

    async def _work(self, conv: Conversation) -> None:
        if not await self._try_hold(conv):
            self._workers.pop(conv, None)
            self._dirty.discard(conv)
            return
        try:
            await super()._work(conv)
        finally:
            await self._let_go(conv)

    async def _send(self, conv: Conversation, first: Any = None) -> None:
        if not await self._try_hold(conv):
            self._senders.pop(conv, None)
            self._send_dirty.discard(conv)
            self._dispatcher.read_upto.pop(conv, None)
            return
        try:
            await super()._send(conv, first)
        finally:
            await self._let_go(conv)

    async def _try_hold(self, conv: Conversation) -> bool:
        try:
            return await self.leases.acquire(conv, 0.0)
        except Exception:  # the database went away: the rows stay, the sweep comes back to them
            logger.exception("%s: conversation lease not available", self.channel)
            return False

    async def _let_go(self, conv: Conversation) -> None:
        """Release one hold; after the last, look once more for work that arrived meanwhile.

        A kick for this conversation on another instance (a queue message, the sweep, an
        agent's reply) found it held by us and did nothing: whatever it was about is
        in the database, so we look and take it up again.
        """
        try:
            if not await self.leases.release(conv) or self._stopping:
                return
            if any(key[1] == conv for key in self._timers):
                return  # a retry is scheduled here anyway
            if not await self.store.run_blocking(has_work, self.store.engine, self.channel, conv, utcnow()):
                self._relooks.pop(conv, None)
                return
        except Exception:
            logger.exception("%s: could not give a conversation back cleanly", self.channel)
            return
        quick = self._relooks.get(conv, 0) + 1
        self._relooks[conv] = quick
        if quick <= MAX_QUICK_RELOOKS:
            self.kick(conv)
        else:
            self._relooks.pop(conv, None)
            self._schedule_retry(conv, RELOOK_PAUSE_S, self.kick)

    async def stop(self, timeout: float = 10.0) -> None:
        await super().stop(timeout)
        self.leases.close()


__all__ = ["ClusterDelivery", "conversations_with_work", "has_work", "reset_orphans"]

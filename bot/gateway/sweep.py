"""The safety net of the Rasa process: wake conversations with work another process stored.

A receiver process stores inbox rows and then sends a notice (:mod:`bot.gateway.notice`).
If the notice is lost (Rasa busy restarting, a network hiccup), :class:`InboxSweep`
still finds the rows: every ``interval`` seconds it lists the conversations of one
channel with *pending* inbox rows, or outbox rows never attempted (a window template
the receiver queued from a failure status), and calls ``Delivery.kick`` for each.

Cheap when there is nothing: one indexed ``SELECT DISTINCT`` on
``(channel, state)`` per tick.  On SQLite it runs in autocommit mode, without the
``BEGIN IMMEDIATE`` the store's transactions take, so it never holds the write lock
a receiver is waiting for.  Kicking a conversation that is already being worked on
only marks it for one more (empty) look-up.

This is :meth:`bot.delivery.DeliveryStore.recover` without its first half: it never
resets rows in ``processing`` (they belong to a running worker of this process).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery import DeliveryStore
from bot.storage import is_sqlite
from bot.storage.schema import inbox, outbox

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

#: Seconds between two looks at the store.
DEFAULT_INTERVAL_S = 2.0
#: Conversations woken per tick at most (the rest next tick).
MAX_PER_TICK = 1000


def _query(channel: str) -> sa.sql.Select:
    waiting_in = sa.select(inbox.c.account, inbox.c.customer).where(
        inbox.c.channel == channel, inbox.c.state == "pending"
    )
    never_tried_out = sa.select(outbox.c.account, outbox.c.customer).where(
        outbox.c.channel == channel, outbox.c.state == "pending", outbox.c.next_attempt_at.is_(None)
    )
    return sa.union(waiting_in, never_tried_out).limit(MAX_PER_TICK)


def pending_conversations(engine: Engine, channel: str) -> List[Conversation]:
    """Conversations of ``channel`` with pending inbox rows or never-attempted outbox rows (blocking)."""
    query = _query(channel)
    if is_sqlite(engine):
        # Autocommit read on the raw connection: no BEGIN IMMEDIATE, no write lock.
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": False})
        params = [compiled.params[name] for name in compiled.positiontup]  # type: ignore[union-attr]
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                rows = cursor.execute(str(compiled), params).fetchall()
            finally:
                cursor.close()
        finally:
            raw.close()
    else:
        with engine.connect() as conn:
            rows = conn.execute(query).fetchall()
    return sorted((str(account), str(customer)) for account, customer in rows)


class InboxSweep:
    """Every ``interval`` s, ``kick`` the conversations with work stored by another process.

    Args:
        store: the delivery store of the channel.
        channel: the channel name.
        kick: ``Delivery.kick``.
        interval: seconds between looks (0 or less: never started).
    """

    def __init__(
        self,
        store: DeliveryStore,
        channel: str,
        kick: Callable[[Conversation], None],
        interval: float = DEFAULT_INTERVAL_S,
    ) -> None:
        self.store = store
        self.channel = channel
        self.kick = kick
        self.interval = interval
        self.ticks = 0
        self.started = False
        self._task: Optional[asyncio.Task] = None
        self._failing = False

    @property
    def running(self) -> bool:
        """Whether the periodic look is scheduled."""
        return self._task is not None and not self._task.done()

    async def sweep(self) -> int:
        """One look at the store; returns how many conversations were woken."""
        conversations = await self.store.run_blocking(pending_conversations, self.store.engine, self.channel)
        for conversation in conversations:
            self.kick(conversation)
        self.ticks += 1
        return len(conversations)

    def start(self) -> None:
        """Start looking (call from the running event loop, after ``Delivery.start``)."""
        self.started = True
        if self.interval > 0 and not self.running:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        self.started = False
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep()
                if self._failing:
                    logger.info("%s: inbox sweep works again", self.channel)
                    self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception:  # the safety net must outlive a database hiccup
                if not self._failing:
                    logger.exception("%s: inbox sweep failed; trying again every %.1fs", self.channel, self.interval)
                self._failing = True

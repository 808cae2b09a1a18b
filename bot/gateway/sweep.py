"""The safety net of the Rasa process: wake conversations whose work nobody is doing.

A receiver process stores inbox rows and then hands the work on (:mod:`bot.gateway.notice`).
If that is lost (Rasa busy restarting, a network hiccup), :class:`InboxSweep` still
finds the rows: every ``interval`` seconds it asks the delivery store which
conversations of one channel wait (:meth:`bot.delivery.sql.SqlDelivery.waiting_conversations`:
pending inbox rows, rows whose claimer's lease has passed, outbox rows due that nobody
holds) and calls ``Delivery.kick`` for each.

Cheap when there is nothing: one indexed read per tick that never takes SQLite's
write lock.  Kicking a conversation that is already being worked on (here or by
another instance) only costs one claim that finds nothing.  It never resets rows:
that is :meth:`~bot.delivery.sql.SqlDelivery.recover`, at start-up.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable, Optional, Tuple

from bot.config import config
from bot.storage.ports import DeliveryStorage

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

#: Seconds between two looks at the store.
DEFAULT_INTERVAL_S = 2.0
#: Conversations woken per tick at most (the rest next tick).
MAX_PER_TICK = 1000


def sweep_interval(variable: str) -> float:
    """Seconds between two looks, from the environment variable ``variable`` (0: never; default 2)."""
    return config(variable, cast=float, default=DEFAULT_INTERVAL_S)


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
        store: DeliveryStorage,
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
        conversations = await self.store.waiting_conversations(self.channel, limit=MAX_PER_TICK)
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

"""Hand-off of "conversation X has work" from a receiver, off the request path, coalescing bursts.

Shared by the HTTP inbox notice (:class:`bot.gateway.notice.InboxNotifier`) and the RabbitMQ
work publisher (:class:`bot.cluster.workqueue.WorkPublisher`): :meth:`notify` never blocks and
never fails; conversations are collected, and one background task delivers them in batches.
While a batch is in flight new conversations gather for the next one, so a slow consumer gets
fewer, larger batches.  A lost batch costs nothing but time: the rows are durable and the Rasa
side's sweep finds them.
"""
from __future__ import annotations

import asyncio
from typing import Dict, Iterable, List, Optional, Tuple

Conversation = Tuple[str, str]


class CoalescingNotifier:
    """Collects conversations and delivers them in batches with :meth:`_deliver` (subclasses)."""

    def __init__(self) -> None:
        self._pending: Dict[Conversation, None] = {}
        self._task: Optional[asyncio.Task] = None
        self._closing = False

    def notify(self, conversations: Iterable[Conversation]) -> None:
        """Queue ``conversations`` (returns at once)."""
        if self._closing:
            return
        for conversation in conversations:
            self._pending[conversation] = None
        if self._pending and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        # Lives only while there is something to deliver, so a graceful shutdown that
        # waits for the server's tasks is not held up by an idle notifier.
        while self._pending:
            batch, self._pending = list(self._pending), {}
            await self._deliver(batch)

    async def _deliver(self, batch: List[Conversation]) -> None:
        raise NotImplementedError

    async def _drain(self, timeout: float) -> None:
        """Stop taking conversations; deliver what is queued for up to ``timeout`` s."""
        self._closing = True
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except asyncio.TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)

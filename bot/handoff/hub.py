"""In-process publish/subscribe of handoff events for live desk views (server-sent events).

Durability lives in the event log (``majlis_handoff_event``); the hub only wakes up
connected browsers.  A subscriber that falls behind loses events and is told to
resynchronise (its browser reconnects with ``Last-Event-ID`` and replays from the log).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional, Set

logger = logging.getLogger(__name__)


class Subscription:
    """One listener's queue; ``overflowed`` is set when events were dropped."""

    def __init__(self, size: int) -> None:
        self.queue: "asyncio.Queue[Any]" = asyncio.Queue(maxsize=size)
        self.overflowed = False

    async def next(self, timeout: float) -> Optional[Any]:
        """The next event, or None after ``timeout`` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None


class Hub:
    """Fan-out of events to every current subscriber."""

    def __init__(self, queue_size: int = 500) -> None:
        self._subscribers: Set[Subscription] = set()
        self._size = queue_size
        self.closed = False

    def close(self) -> None:
        """The server stops: wake every subscriber so its stream ends."""
        self.closed = True
        for subscription in list(self._subscribers):
            subscription.overflowed = True
            try:
                subscription.queue.put_nowait(None)
            except asyncio.QueueFull:
                pass

    def subscribe(self) -> Subscription:
        subscription = Subscription(self._size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers.discard(subscription)

    def publish(self, event: Any) -> None:
        for subscription in list(self._subscribers):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscription.overflowed = True
                logger.warning("A live desk view fell behind; it will resynchronise")

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

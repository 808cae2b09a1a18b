"""Following what a running Majlis does, without touching the code that does it.

- :class:`TeeBroker` sits in front of the tracker store's event broker: every tracker
  event Rasa saves (customer messages with their NLU result, bot messages, session
  starts) reaches the sinks, then the broker that was configured (if any).
- :class:`HubFollower` subscribes to the desk's in-process event hub (handoff created,
  claimed, agent message, closed, rated) and hands each event to an async handler.

Both swallow a sink's error (logged): observing must never break a turn or the desk.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

Sink = Callable[[Dict[str, Any]], None]


class TeeBroker:
    """A Rasa ``EventBroker`` stand-in: sinks first, then the wrapped broker."""

    def __init__(self, inner: Any, sinks: List[Sink]) -> None:
        self.inner = inner
        self.sinks = sinks

    def publish(self, event: Dict[str, Any]) -> None:
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # boundary: a metrics or export problem must not fail the turn
                logger.exception("A tracker-event sink failed")
        if self.inner is not None:
            self.inner.publish(event)

    def is_ready(self) -> bool:
        return True if self.inner is None else self.inner.is_ready()

    async def close(self) -> None:
        if self.inner is not None:
            await self.inner.close()

    def __getattr__(self, name: str) -> Any:  # anything else Rasa asks of the real broker
        if self.inner is None:
            raise AttributeError(name)
        return getattr(self.inner, name)


def tee_tracker_events(agent: Any, sink: Sink) -> None:
    """Add ``sink`` to the tracker store's event stream of ``agent`` (idempotent per sink)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)  # Rasa's AwaitableTrackerStore wraps the real one
    if store is None:
        logger.warning("No tracker store: tracker events are not observed")
        return
    broker = store.event_broker
    if not isinstance(broker, TeeBroker):
        broker = store.event_broker = TeeBroker(broker, [])
    if sink not in broker.sinks:
        broker.sinks.append(sink)


def untee_tracker_events(agent: Any, sink: Sink) -> None:
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)
    broker = getattr(store, "event_broker", None)
    if isinstance(broker, TeeBroker) and sink in broker.sinks:
        broker.sinks.remove(sink)


class HubFollower:
    """Runs ``handle(event)`` for every event the desk's hub publishes, in one task."""

    def __init__(self, hub: Any, handle: Callable[[Any], Awaitable[None]], name: str) -> None:
        self.hub, self.handle, self.name = hub, handle, name
        self._task: Optional[asyncio.Task] = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(self.hub.subscribe()))

    async def _run(self, subscription: Any) -> None:
        try:
            while not self.hub.closed:
                event = await subscription.next(timeout=30.0)
                if event is None:
                    continue
                try:
                    await self.handle(event)
                except asyncio.CancelledError:
                    raise
                except Exception:  # boundary: one odd event must not stop the follower
                    logger.exception("%s: handling a desk event failed", self.name)
        finally:
            self.hub.unsubscribe(subscription)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

"""Publishing schema events to RabbitMQ: a topic exchange, one routing key per type.

Turns and desk actions never wait for the broker: events go into a bounded queue and
one task publishes them (persistent messages, ``application/json``, ``message_id`` =
the event id).  ``connect_robust`` reconnects after a broker restart; while the broker
is away, events wait in the queue; beyond its bound they are dropped and counted
(``majlis_events_dropped_total``), never allowed to grow the process without limit.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Optional

from bot.metrics.series import EVENTS_DROPPED, EVENTS_PUBLISHED

logger = logging.getLogger(__name__)


class EventPublisher:
    """Args:
        url: ``amqp://user:password@host:5672/vhost``.
        exchange: the topic exchange (declared durable if missing).
        limit: events held while the broker is slow or away.
    """

    def __init__(self, url: str, exchange: str = "majlis.events", limit: int = 10000) -> None:
        self.url, self.exchange_name = url, exchange
        self._queue: "asyncio.Queue[Dict[str, Any]]" = asyncio.Queue(maxsize=limit)
        self._task: Optional[asyncio.Task] = None
        self._connection: Any = None
        self._exchange: Any = None
        self.ready = asyncio.Event()

    def publish(self, event: Dict[str, Any]) -> None:
        """Queue ``event`` (never blocks)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            EVENTS_DROPPED.labels(reason="queue_full").inc()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _connect(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect_robust(self.url)
        channel = await self._connection.channel()
        self._exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC,
                                                        durable=True)
        self.ready.set()

    async def _run(self) -> None:
        import aio_pika

        while self._exchange is None:
            try:
                await self._connect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down at start: keep queueing, try again
                logger.warning("Event broker unreachable (%s); retrying in 5 s", type(exc).__name__)
                await asyncio.sleep(5)
        while True:
            event = await self._queue.get()
            message = aio_pika.Message(json.dumps(event, ensure_ascii=False).encode("utf-8"),
                                       content_type="application/json", message_id=event["id"],
                                       delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                       headers={"schema": event["schema"], "version": event["version"]})
            while True:
                try:
                    await self._exchange.publish(message, routing_key=event["type"])
                    EVENTS_PUBLISHED.labels(type=event["type"]).inc()
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the robust connection is reconnecting
                    logger.warning("Publishing an event failed (%s); retrying in 1 s", type(exc).__name__)
                    await asyncio.sleep(1)
            self._queue.task_done()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event was published (tests, shutdown)."""
        await asyncio.wait_for(self._queue.join(), timeout)

    async def stop(self) -> None:
        try:
            if self._exchange is not None:
                await self.flush(timeout=5.0)
        except asyncio.TimeoutError:
            logger.warning("%d events not published at shutdown", self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

"""The work queue from webhook receivers to whichever Rasa server is free (RabbitMQ).

A receiver stores inbox rows in the shared delivery database and then publishes one
small persistent message per conversation with new rows ("conversation X has work")
to a durable queue.  Every Rasa server consumes that queue with a prefetch: for each
message it works the conversation's pending rows (:meth:`bot.cluster.delivery.ClusterDelivery.process_conversation`)
and acknowledges the message only afterwards.  If a Rasa server dies or its connection
drops, RabbitMQ hands its unacknowledged messages to another consumer; the rows'
states make a second look harmless.

The message is a wake-up call, as the HTTP notice was (:mod:`bot.gateway.notice`): the
rows are durable before it is published, and the Rasa servers' sweep
(:mod:`bot.gateway.sweep`) finds rows whose message was never published (RabbitMQ down).

Body: ``{"channel": "...", "account": "...", "customer": "..."}``.  Customer ids are
personal data: they travel in message bodies only, never in logs.

Settings (environment): ``MAJLIS_WORK_QUEUE_URL`` (``amqp://user:password@host:port/vhost``;
unset: no work queue, the receiver uses the HTTP notice), ``MAJLIS_WORK_QUEUE``
(queue name, default :data:`DEFAULT_QUEUE`), ``MAJLIS_WORK_QUEUE_PREFETCH``
(messages a Rasa server works at once, default :data:`DEFAULT_PREFETCH`).
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Tuple

import aio_pika
import yarl
from aio_pika.abc import AbstractIncomingMessage

from bot.config import Config, Secret, config, positive
from bot.gateway.coalesce import CoalescingNotifier

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

URL_ENV = "MAJLIS_WORK_QUEUE_URL"
QUEUE_ENV = "MAJLIS_WORK_QUEUE"
PREFETCH_ENV = "MAJLIS_WORK_QUEUE_PREFETCH"
DEFAULT_QUEUE = "majlis.inbox"
DEFAULT_PREFETCH = 8
#: Pause before a message whose conversation stayed busy elsewhere goes back to the queue.
REQUEUE_PAUSE_S = 0.2


@dataclass(frozen=True)
class QueueSettings:
    """Where the work queue is."""

    url: Secret
    queue: str = DEFAULT_QUEUE
    prefetch: int = DEFAULT_PREFETCH
    #: shown in RabbitMQ's connection list (``rabbitmqctl list_connections client_properties``)
    connection_name: str = "majlis"

    @classmethod
    def from_config(cls, cfg: Config = config, *, role: str) -> Optional["QueueSettings"]:
        """The settings, or None when ``MAJLIS_WORK_QUEUE_URL`` is unset (no work queue)."""
        url = cfg(URL_ENV, default="")
        if not url:
            return None
        return cls(url=Secret(url), queue=cfg(QUEUE_ENV, default=DEFAULT_QUEUE),
                   prefetch=cfg(PREFETCH_ENV, cast=positive(int), default=DEFAULT_PREFETCH),
                   connection_name=f"majlis-{role}-{cfg('MAJLIS_INSTANCE', default='0')}")


def encode(channel: str, conv: Conversation) -> bytes:
    return json.dumps({"channel": channel, "account": conv[0], "customer": conv[1]},
                      ensure_ascii=False).encode("utf-8")


def decode(raw: bytes) -> Tuple[str, Conversation]:
    """(channel, conversation) of a message body.

    Raises:
        ValueError: not the format.
    """
    body = json.loads(raw)
    if not isinstance(body, dict) or not all(isinstance(body.get(k), str) for k in ("channel", "account", "customer")):
        raise ValueError("a work message needs string channel, account and customer")
    return body["channel"], (body["account"], body["customer"])


async def _connect(settings: QueueSettings) -> aio_pika.abc.AbstractRobustConnection:
    # aiormq takes the connection's name (shown by RabbitMQ) from the URL's "name" parameter.
    url = yarl.URL(settings.url.reveal()).update_query(name=settings.connection_name)
    return await aio_pika.connect_robust(url)


class WorkPublisher(CoalescingNotifier):
    """Publishes "conversation X has work" from a receiver, off the request path.

    :meth:`notify` never blocks and never fails (the relay calls it); conversations are
    collected and one background task publishes them with publisher confirms.  A failed
    publish is logged (counts only) and dropped: the rows are durable and the Rasa
    servers' sweep finds them.
    """

    def __init__(self, settings: QueueSettings, channel: str) -> None:
        super().__init__()
        self.settings = settings
        self.channel = channel
        self.published = 0
        self.failed = 0
        self._connection: Optional[aio_pika.abc.AbstractRobustConnection] = None
        self._channel: Optional[aio_pika.abc.AbstractChannel] = None
        self._failing = False

    @property
    def url(self) -> str:
        return f"the RabbitMQ queue {self.settings.queue}"

    @property
    def connected(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def connect(self) -> None:
        """Connect and declare the queue (also done lazily by the first publish)."""
        if self._channel is None or self._channel.is_closed:
            if self._connection is None:
                self._connection = await _connect(self.settings)
            self._channel = await self._connection.channel(publisher_confirms=True)
            await self._channel.declare_queue(self.settings.queue, durable=True)

    async def _deliver(self, batch: List[Conversation]) -> None:
        try:
            await self.connect()
            assert self._channel is not None
            exchange = self._channel.default_exchange
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(encode(self.channel, conv),
                                                  delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                                                  content_type="application/json"),
                                 routing_key=self.settings.queue)
                for conv in batch))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # aio-pika/aiormq raise many types; the sweep covers every one
            self.failed += 1
            log = logger.debug if self._failing else logger.warning
            log("Work messages for %d conversation(s) not published (%s); the Rasa servers' sweep will find them",
                len(batch), type(exc).__name__)
            self._failing = True
            return
        self.published += len(batch)
        if self._failing:
            logger.info("Work messages are published again")
            self._failing = False

    async def close(self, timeout: float = 2.0) -> None:
        await self._drain(timeout)
        if self._connection is not None:
            await self._connection.close()


Process = Callable[[Conversation], Awaitable[bool]]


class WorkConsumer:
    """Consumes the work queue in a Rasa server: ``process`` each conversation, then ack.

    Args:
        settings: the queue.
        channel: only messages of this channel are processed here (others go back).
        process: works a conversation; True when done, False to hand the message back.
    """

    def __init__(self, settings: QueueSettings, channel: str, process: Process) -> None:
        self.settings = settings
        self.channel = channel
        self.process = process
        self.acked = 0
        self.requeued = 0
        self.rejected = 0
        self._connection: Optional[aio_pika.abc.AbstractRobustConnection] = None
        self._consuming = False

    @property
    def ready(self) -> bool:
        """Connected and consuming (the readiness endpoint)."""
        return self._consuming and self._connection is not None and not self._connection.is_closed

    async def start(self) -> None:
        self._connection = await _connect(self.settings)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.settings.prefetch)
        queue = await channel.declare_queue(self.settings.queue, durable=True)
        # A robust connection re-opens the channel, the QoS and this consumer after a reconnect.
        await queue.consume(self._on_message)
        self._consuming = True
        logger.info("%s: consuming the work queue %s (prefetch %d)", self.channel, self.settings.queue,
                    self.settings.prefetch)

    async def stop(self) -> None:
        self._consuming = False
        if self._connection is not None:
            await self._connection.close()  # unacknowledged messages go back to the queue

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            channel, conv = decode(message.body)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            logger.warning("Work message dropped: %s", type(exc).__name__)
            await self._settle(message.reject(requeue=False))
            self.rejected += 1
            return
        if channel != self.channel:
            await self._settle(message.reject(requeue=True))
            return
        try:
            done = await self.process(conv)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # boundary: the message goes back, another look later
            logger.warning("%s: work message not processed (%s); it goes back to the queue",
                           self.channel, type(exc).__name__)
            done = False
        if done:
            self.acked += 1
            await self._settle(message.ack())
        else:
            self.requeued += 1
            await asyncio.sleep(REQUEUE_PAUSE_S)
            await self._settle(message.nack(requeue=True))

    @staticmethod
    async def _settle(outcome: Any) -> None:
        # After a lost connection the message cannot be settled on it: RabbitMQ has
        # already put it back in the queue, and the rows' states make the repeat harmless.
        try:
            await outcome
        except Exception as exc:
            logger.debug("Work message not settled (%s); RabbitMQ redelivers it", type(exc).__name__)


__all__ = ["QueueSettings", "WorkConsumer", "WorkPublisher", "decode", "encode"]

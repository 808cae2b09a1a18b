"""How a channel inside a Rasa server joins the cluster: two calls.

- :func:`make_delivery` instead of ``Delivery(...)``: a :class:`~bot.cluster.delivery.ClusterDelivery`
  when the work queue is configured (``MAJLIS_WORK_QUEUE_URL``), the plain one-process
  :class:`~bot.delivery.Delivery` on SQLite (``./majlis start``), and on PostgreSQL without a
  queue a :class:`~bot.cluster.renewing.RenewingDelivery` (claims kept during long turns);
- :func:`serve_work` in ``blueprint()``: ``GET <prefix>/ready`` (readiness) and, with the work
  queue, a consumer started after the delivery service and stopped before it.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Tuple

from sanic import Blueprint, response

from bot.cluster.connected import ConnectedDelivery
from bot.cluster.delivery import ClusterDelivery
from bot.cluster.renewing import RenewingDelivery
from bot.cluster.workqueue import QueueSettings, WorkConsumer
from bot.config import Config, config
from bot.delivery import Delivery
from bot.storage import is_sqlite

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]


def make_delivery(cfg: Config = config, **kwargs: Any) -> Delivery:
    """The channel's delivery service: clustered with a work queue, else the one-process one."""
    queue = QueueSettings.from_config(cfg, role="rasa")
    if queue is None:
        store = kwargs.get("store")
        if store is not None and not is_sqlite(store.engine):
            # Several processes may share a PostgreSQL database without a work queue: the
            # row claims are all that keeps them apart, so they are renewed during long turns.
            return RenewingDelivery(**kwargs)
        return Delivery(**kwargs)
    # The queue's messages in hand, plus a few for the sweep, retries and agents' replies.
    return ClusterDelivery(max_held=queue.prefetch + 4, **kwargs)


def make_connected_delivery(present: Callable[[Conversation], bool], cfg: Config = config,
                            **kwargs: Any) -> Delivery:
    """The delivery service of a channel whose replies leave only from the customer's server (web chat).

    Several Rasa servers (a work queue configured): a :class:`~bot.cluster.connected.ConnectedDelivery`;
    start a sweep (:class:`bot.gateway.sweep.InboxSweep`) with it, so work stored elsewhere is
    found by the customer's server.  One process: the plain :class:`~bot.delivery.Delivery`.
    """
    queue = QueueSettings.from_config(cfg, role="rasa")
    if queue is None:
        return Delivery(**kwargs)
    return ConnectedDelivery(present=present, max_held=queue.prefetch + 4, **kwargs)


class WorkService:
    """The consumer of one channel's work, and its readiness."""

    def __init__(self, delivery: Delivery, settings: Optional[QueueSettings]) -> None:
        self.delivery = delivery
        self.settings = settings
        self.started = False
        self.consumer: Optional[WorkConsumer] = None
        if settings is not None and isinstance(delivery, ClusterDelivery):
            self.consumer = WorkConsumer(settings, delivery.channel, delivery.process_conversation)

    @property
    def ready(self) -> bool:
        """Started.  Not tied to RabbitMQ: while it is away the sweep still processes the rows,
        and the server keeps serving the desk, REST and the other channels."""
        return self.started

    def describe(self) -> dict:
        if self.consumer is None:
            return {}
        return {"work_queue": "consuming" if self.consumer.ready else "reconnecting"}

    async def start(self) -> None:
        """After ``Delivery.start``: consume (a RabbitMQ outage at start fails the start, loudly)."""
        if self.consumer is not None:
            await self.consumer.start()
        self.started = True

    async def stop(self) -> None:
        """Before ``Delivery.stop``: unacknowledged messages go back to the queue for another server."""
        self.started = False
        if self.consumer is not None:
            await self.consumer.stop()


def serve_work(bp: Blueprint, delivery: Delivery, cfg: Config = config) -> WorkService:
    """Add ``GET /ready`` to ``bp``; the caller starts/stops the returned service with its delivery."""
    service = WorkService(delivery, QueueSettings.from_config(cfg, role="rasa"))

    @bp.route("/ready", methods=["GET"])
    async def ready(_request: Any) -> response.HTTPResponse:
        if service.ready:
            return response.json({"status": "ready", **service.describe()})
        return response.json({"status": "starting"}, status=503)

    return service


__all__ = ["WorkService", "make_connected_delivery", "make_delivery", "serve_work"]

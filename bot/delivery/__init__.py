"""Durable, ordered, exactly-once-effect delivery for every channel.

Public API (stable; see ``docs/delivery.md``)::

    from bot.delivery import (
        Delivery, DeliveryStore, Outbox, Handler,          # the service
        Sender, RetryPolicy,                               # what a channel provides
        InboundItem, OutboundMessage, SendResult,          # values
        StatusUpdate, StatusRecord, OutboxRecord, OutboxState, InboxState, STATUS_RANK,
    )

Errors a sender raises live in :mod:`bot.errors` (``ProviderAPIError``,
``WindowClosedError``).
"""
from bot.delivery.sender import RetryPolicy, Sender
from bot.delivery.service import DEFAULT_RETENTION, DEFAULT_WINDOW, Delivery, Handler, Outbox
from bot.delivery._rows import utcnow
from bot.delivery.store import DeliveryStore
from bot.delivery.types import (
    STATUS_RANK,
    InboundItem,
    InboxState,
    OutboundMessage,
    OutboxRecord,
    OutboxState,
    SendResult,
    StatusRecord,
    StatusUpdate,
)

__all__ = [
    "DEFAULT_RETENTION",
    "DEFAULT_WINDOW",
    "STATUS_RANK",
    "Delivery",
    "DeliveryStore",
    "Handler",
    "InboundItem",
    "InboxState",
    "Outbox",
    "OutboundMessage",
    "OutboxRecord",
    "OutboxState",
    "RetryPolicy",
    "SendResult",
    "Sender",
    "StatusRecord",
    "StatusUpdate",
    "utcnow",
]

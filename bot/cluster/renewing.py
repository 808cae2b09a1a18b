"""Delivery whose claims are renewed while a conversation's worker or sender runs.

Rows of the inbox and the outbox are claimed with a lease (``MAJLIS_CLAIM_LEASE_S``,
:mod:`bot.storage.claims`) so that a crashed instance's work moves on.  A turn longer
than the lease (a slow action server, a slow provider) would look abandoned half way:
another instance (its sweep, or its ``recover`` at start) would take the row over and
answer the message a second time, out of order.  :class:`RenewingDelivery` pushes the
leases of the conversation's rows this instance holds forward while its worker or
sender runs (every third of the lease, one UPDATE per table); an instance that dies
stops renewing, so its rows still move on one lease later.

With the work queue (:class:`bot.cluster.delivery.ClusterDelivery`) a conversation is
also held under an advisory lock; the renewed row claims keep the rows this instance
works on even if that lock's connection is lost mid-turn.
"""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.delivery import Delivery
from bot.delivery._rows import to_db, utcnow
from bot.delivery.types import InboxState, OutboxState
from bot.storage.claims import renew_claims, renewal_interval
from bot.storage.renewal import renewing
from bot.storage.schema import inbox, outbox

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]


def of_conversation(table: sa.Table, channel: str, conv: Conversation) -> Any:
    """SQL: the rows of one conversation of ``channel``."""
    return sa.and_(table.c.channel == channel, table.c.account == conv[0], table.c.customer == conv[1])


def renew_conversation(engine: Engine, channel: str, conv: Conversation, owner: str, lease: timedelta,
                       now: datetime) -> int:
    """Renew ``owner``'s claims on ``conv``'s rows in progress: inbox rows processing, replies being sent (blocking)."""
    at = to_db(now)
    with engine.begin() as conn:
        return (renew_claims(conn, inbox, owner, at, lease, of_conversation(inbox, channel, conv),
                             inbox.c.state == InboxState.PROCESSING.value)
                + renew_claims(conn, outbox, owner, at, lease, of_conversation(outbox, channel, conv),
                               outbox.c.state == OutboxState.PENDING.value))


class RenewingDelivery(Delivery):
    """:class:`~bot.delivery.Delivery` that keeps its claims while it works a conversation.

    The store must be a :class:`~bot.delivery.DeliveryStore` (its claimer id and lease are
    read from it); any other store is used as is, without renewal.
    """

    @property
    def _claims(self) -> Optional[Tuple[Engine, str, timedelta]]:
        core = getattr(self.store, "core", None)
        if core is None:
            return None
        return core.engine, core.owner, core.lease

    @asynccontextmanager
    async def _keeping(self, conv: Conversation) -> AsyncIterator[None]:
        claims = self._claims
        if claims is None:
            yield
            return
        engine, owner, lease = claims

        async def renew() -> None:
            await self.store.run_blocking(renew_conversation, engine, self.channel, conv, owner, lease, utcnow())

        async with renewing(renew, renewal_interval(lease)):
            yield

    async def _work(self, conv: Conversation) -> None:
        async with self._keeping(conv):
            await super()._work(conv)

    async def _send(self, conv: Conversation, first: Any = None) -> None:
        async with self._keeping(conv):
            await super()._send(conv, first)


__all__ = ["RenewingDelivery", "of_conversation", "renew_conversation"]

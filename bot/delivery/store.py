"""The delivery layer's storage, for the event loop: :class:`bot.delivery.sql.SqlDelivery` on a thread pool.

Every query lives once, in the blocking :class:`~bot.delivery.sql.SqlDelivery`
(SQLite and PostgreSQL); this face runs each call on a small thread pool
(:mod:`bot.storage.threaded`), so the event loop never blocks on the database.  It
satisfies :class:`bot.storage.ports.DeliveryStorage`.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Optional

from sqlalchemy.engine import Engine

from bot.delivery.sql import Finished, SqlDelivery
from bot.storage.threaded import Threaded, threaded

__all__ = ["DeliveryStore", "Finished"]


class DeliveryStore(Threaded[SqlDelivery]):
    """Durable state of one or more channels (rows are keyed by channel name).

    Args:
        engine: from :func:`bot.storage.get_engine`.
        executor: thread pool for database calls; by default one thread for SQLite
            (a single writer anyway) and four for PostgreSQL.
        owner: this instance's claimer id (default :func:`bot.storage.claims.instance_id`).
        lease: how long a claim holds unless finished (default :func:`bot.storage.claims.configured_lease`).
        in_doubt_window: how long an interrupted send waits for its status before it is sent
            again (default :func:`bot.delivery.in_doubt.configured_window`).
    """

    def __init__(self, engine: Engine, executor: Optional[ThreadPoolExecutor] = None, *,
                 owner: Optional[str] = None, lease: Optional[timedelta] = None,
                 in_doubt_window: Optional[timedelta] = None) -> None:
        super().__init__(SqlDelivery(engine, owner=owner, lease=lease, in_doubt_window=in_doubt_window), executor)

    @property
    def owner(self) -> str:
        """This instance's claimer id."""
        return self.core.owner

    setup = threaded(SqlDelivery.setup)
    # inbox
    accept = threaded(SqlDelivery.accept)
    claim_next_inbound = threaded(SqlDelivery.claim_next_inbound)
    finish_and_claim_next = threaded(SqlDelivery.finish_and_claim_next)
    finish_inbound = threaded(SqlDelivery.finish_inbound)
    inbound = threaded(SqlDelivery.inbound)
    recover = threaded(SqlDelivery.recover)
    waiting_conversations = threaded(SqlDelivery.waiting_conversations)
    # outbox
    enqueue = threaded(SqlDelivery.enqueue)
    enqueue_reply = threaded(SqlDelivery.enqueue_reply)
    next_pending_outbound = threaded(SqlDelivery.next_pending_outbound)
    pending_outbound = threaded(SqlDelivery.pending_outbound)
    claim_outbound = threaded(SqlDelivery.claim_outbound)
    update_outbound = threaded(SqlDelivery.update_outbound)
    mark_sending = threaded(SqlDelivery.mark_sending)
    outbound_by_provider_id = threaded(SqlDelivery.outbound_by_provider_id)
    outbound_records = threaded(SqlDelivery.outbound_records)
    # statuses and windows
    record_statuses = threaded(SqlDelivery.record_statuses)
    current_status = threaded(SqlDelivery.current_status)
    last_inbound_at = threaded(SqlDelivery.last_inbound_at)
    last_account = threaded(SqlDelivery.last_account)
    # retention
    prune = threaded(SqlDelivery.prune)

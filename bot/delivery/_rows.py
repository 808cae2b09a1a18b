"""Row and time helpers of the delivery store (private to ``bot.delivery``)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterable, Optional, Sequence, Tuple, TypeVar

import sqlalchemy as sa

from bot.delivery.types import InboundItem, OutboundMessage, OutboxRecord, OutboxState

T = TypeVar("T")

#: Rows per statement when a batch is inserted or looked up (keeps IN lists small).
CHUNK = 400

Conversation = Tuple[str, str]
"""(account, customer): the unit of ordered processing."""


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


def to_db(value: Optional[datetime]) -> Optional[datetime]:
    """Aware datetime → naive UTC for storage."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def from_db(value: Optional[datetime]) -> Optional[datetime]:
    """Naive UTC from storage → aware datetime."""
    return None if value is None else value.replace(tzinfo=timezone.utc)


def oldest_pending(table: sa.Table, channel: str, conv: Conversation) -> Any:
    """SELECT the oldest pending row of one conversation in ``table`` (inbox or outbox)."""
    return (
        sa.select(table)
        .where(
            table.c.channel == channel,
            table.c.account == conv[0],
            table.c.customer == conv[1],
            table.c.state == "pending",
        )
        .order_by(table.c.id)
        .limit(1)
    )


def chunks(seq: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


def inbound_from_row(row: Any) -> InboundItem:
    """An inbox row as an :class:`InboundItem`."""
    return InboundItem(
        channel=row.channel,
        message_id=row.message_id,
        account=row.account,
        customer=row.customer,
        payload=json.loads(row.payload),
        sent_at=from_db(row.sent_at),
        opens_window=bool(row.opens_window),
        id=row.id,
        attempts=row.attempts,
    )


def outbox_from_row(row: Any) -> OutboxRecord:
    """An outbox row as an :class:`OutboxRecord`."""
    message = OutboundMessage(
        channel=row.channel,
        account=row.account,
        customer=row.customer,
        payload=json.loads(row.payload),
        idempotency_key=row.idempotency_key,
        free_form=bool(row.free_form),
        kind=row.kind,
        id=row.id,
        attempts=row.attempts,
        inbound_message_id=row.inbound_message_id,
    )
    return OutboxRecord(
        message=message,
        state=OutboxState(row.state),
        provider_message_id=row.provider_message_id,
        error_code=row.error_code,
        error_message=row.error_message,
        next_attempt_at=from_db(row.next_attempt_at),
        sending_since=from_db(row.sending_since),
    )

"""Stored values of the handoff store: handoffs, their messages and events."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from bot.handoff.context import OPEN_STATES, OwnerState


def to_db(value: Optional[datetime]) -> Optional[datetime]:
    """Aware datetime → naive UTC (the storage convention of bot.storage)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value and value.tzinfo else value


def from_db(value: Optional[datetime]) -> Optional[datetime]:
    """Naive UTC from storage → aware datetime."""
    return None if value is None else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffRecord:
    """One handoff as stored.  ``context`` is the packet snapshot taken at creation."""

    id: int
    public_id: str
    channel: str
    account: Optional[str]
    customer: str
    state: OwnerState
    queue: str
    language: str
    priority: int
    reason: str
    agent_id: Optional[int]
    version: int
    created_at: datetime
    assigned_at: Optional[datetime] = None
    closed_at: Optional[datetime] = None
    returned_at: Optional[datetime] = None
    resolution: Optional[str] = None
    last_customer_at: Optional[datetime] = None
    last_notice_at: Optional[datetime] = None
    rating: Optional[int] = None
    rating_state: Optional[str] = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """True while the bot must stay silent."""
        return self.state in OPEN_STATES

    @classmethod
    def from_row(cls, row: Any) -> "HandoffRecord":
        return cls(
            id=row.id, public_id=row.public_id, channel=row.channel, account=row.account, customer=row.customer,
            state=OwnerState(row.state), queue=row.queue, language=row.language, priority=row.priority,
            reason=row.reason, agent_id=row.agent_id, version=row.version, created_at=from_db(row.created_at),
            assigned_at=from_db(row.assigned_at), closed_at=from_db(row.closed_at),
            returned_at=from_db(row.returned_at), resolution=row.resolution,
            last_customer_at=from_db(row.last_customer_at), last_notice_at=from_db(row.last_notice_at),
            rating=row.rating, rating_state=row.rating_state, context=json.loads(row.context or "{}"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRecord:
    """An agent reply, an internal note or a system line of a handoff.

    ``send_attempt`` counts how often an agent reply was handed to the delivery layer
    (a retry after a failure is a new attempt with a new idempotency key);
    ``delivery_state`` is the last known outcome (pending, sent, failed, ...).
    """

    id: int
    handoff_id: int
    kind: str
    text: str
    created_at: datetime
    agent_id: Optional[int] = None
    author: Optional[str] = None
    client_key: Optional[str] = None
    send_attempt: int = 0
    delivery_state: Optional[str] = None

    def outbox_key(self, attempt: Optional[int] = None) -> str:
        """The delivery idempotency key of attempt ``attempt`` (default: the latest)."""
        return f"agent-reply:{self.id}:{attempt if attempt is not None else self.send_attempt}"

    @classmethod
    def from_row(cls, row: Any) -> "MessageRecord":
        return cls(id=row.id, handoff_id=row.handoff_id, kind=row.kind, text=row.text,
                   created_at=from_db(row.created_at), agent_id=row.agent_id, author=row.author,
                   client_key=row.client_key, send_attempt=row.send_attempt or 0,
                   delivery_state=row.delivery_state)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """One entry of the handoff event log (the source of live updates and webhooks)."""

    id: int
    handoff_id: int
    type: str
    payload: Mapping[str, Any]
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> "EventRecord":
        return cls(id=row.id, handoff_id=row.handoff_id, type=row.type, payload=json.loads(row.payload),
                   created_at=from_db(row.created_at))

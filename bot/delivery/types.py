"""Values exchanged between a channel and the delivery layer.

Frozen, slotted, keyword-only dataclasses (pywa style).  ``payload`` fields are
provider JSON the delivery layer stores and hands back untouched: the inbound
payload is whatever the channel needs to rebuild its parsed message, the outbound
payload is the provider request body built by the channel's pure builders.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Optional


class OutboxState(str, enum.Enum):
    """Life cycle of one outgoing message."""

    PENDING = "pending"
    """Stored, not yet accepted by the provider (new, or waiting for a retry)."""
    SENT = "sent"
    """Accepted by the provider (delivery reports arrive later as statuses)."""
    FAILED = "failed"
    """Refused permanently, or still failing after the last retry."""
    SKIPPED = "skipped"
    """Not attempted: free-form message outside the customer-service window."""


class InboxState(str, enum.Enum):
    """Life cycle of one inbound message."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"


#: Delivery statuses in the order a customer experiences them.  The current status
#: of a message is the highest-ranked one ever reported, so ``read`` never goes
#: back to ``delivered``; ``failed`` is terminal.  Unknown values rank 0.
STATUS_RANK: Mapping[str, int] = {
    "accepted": 1,
    "queued": 1,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "played": 5,
    "undelivered": 6,
    "failed": 6,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundItem:
    """One customer message, accepted durably and waiting to be processed.

    Attributes:
        channel: the channel name (``WhatsAppCloudInput.name()``, ...).
        message_id: the provider's message id (wamid, Twilio MessageSid); the
            dedupe key together with ``channel``.
        account: the business identity that received it (WhatsApp
            ``phone_number_id``, the Twilio ``To`` number).  Replies go out from it.
        customer: the customer's provider id (wa_id, else business-scoped user id).
            This is Rasa's ``sender_id``.
        payload: JSON-able data the channel stored to rebuild its message.
        sent_at: when the customer sent it (provider timestamp), if known.
        opens_window: whether this message opens/extends the customer-service
            window (customer messages do; reactions and system notices don't).
        id: database id, set once stored (orders processing within a conversation).
        attempts: how many times processing was started.
    """

    channel: str
    message_id: str
    account: str
    customer: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    sent_at: Optional[datetime] = None
    opens_window: bool = True
    id: Optional[int] = None
    attempts: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """One message to a customer, stored in the outbox before any attempt to send it.

    Attributes:
        channel: the channel name.
        account: the business identity to send from.
        customer: the recipient's provider id.
        payload: the provider request body (built by the channel's pure builders).
        idempotency_key: unique per channel; the same key is stored and sent once.
            For bot replies it is ``"<inbound message id>:<position>"``.
        free_form: True for messages that need an open customer-service window
            (text, media, interactive); False for approved templates, read receipts.
        kind: a short label for logs and records ("text", "interactive", "template").
        id: database id once stored.
        attempts: how many send attempts were made so far.
        inbound_message_id: the inbound message this replies to, if any.
    """

    channel: str
    account: str
    customer: str
    payload: Mapping[str, Any]
    idempotency_key: str
    free_form: bool = True
    kind: str = "message"
    id: Optional[int] = None
    attempts: int = 0
    inbound_message_id: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """What the provider answered to an accepted send.

    Attributes:
        provider_message_id: the id statuses will refer to (wamid, MessageSid).
    """

    provider_message_id: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusUpdate:
    """A delivery report about a message we (or another app) sent.

    Attributes:
        channel: the channel name.
        provider_message_id: the message the status concerns.
        status: the provider's status word (``sent``, ``delivered``, ``read``,
            ``failed``, ``played``, or anything else, stored as given).
        timestamp: when the provider says it happened, if readable.
        error_code: the first error code of a failure, if any.
        error_title: the provider's short error title (no personal data).
        window_closed: the failure means the customer-service window is closed
            (WhatsApp 131047, Twilio 63016); the delivery layer then sends the
            channel's template instead.
        callback_key: the outbox idempotency key the provider echoed back (WhatsApp
            ``biz_opaque_callback_data``, Twilio's StatusCallback URL), if any: it
            settles a send whose answer was never recorded (``bot/delivery/in_doubt.py``).
        account: the business identity the status came through (WhatsApp
            ``phone_number_id``), if known; a ``callback_key`` only settles a row of it.
    """

    channel: str
    provider_message_id: str
    status: str
    timestamp: Optional[datetime] = None
    error_code: Optional[int] = None
    error_title: Optional[str] = None
    window_closed: bool = False
    callback_key: Optional[str] = None
    account: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusRecord:
    """The current (highest-ranked) status of one provider message."""

    provider_message_id: str
    status: str
    timestamp: Optional[datetime]
    error_code: Optional[int] = None
    error_title: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRecord:
    """The stored state of one outgoing message (for transcripts and tests)."""

    message: OutboundMessage
    state: OutboxState
    provider_message_id: Optional[str] = None
    error_code: Optional[int] = None
    error_message: Optional[str] = None
    next_attempt_at: Optional[datetime] = None
    sending_since: Optional[datetime] = None
    """When the send attempt under way (or interrupted) started; None between attempts."""

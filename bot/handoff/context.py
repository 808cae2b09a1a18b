"""The context packet: everything a person needs to take a conversation over.

One typed, versioned structure shared by the agent desk, the REST API and the
outgoing webhooks (``to_dict()`` is the wire format; bump :data:`CONTEXT_VERSION`
when a field changes meaning or disappears; adding a field is compatible).
Frozen, slotted, keyword-only dataclasses, built by :mod:`bot.handoff.packet`.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, Dict, Mapping, Optional, Tuple

CONTEXT_VERSION = 1


class OwnerState(str, enum.Enum):
    """Who owns the conversation: the life cycle of one handoff.

    ``bot → queued → assigned → closed → bot``: queued waits for an agent, assigned is
    owned by one agent, closed means the agent finished and the hand-back to the bot
    is under way, bot means the bot owns the conversation again (terminal).
    """

    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"
    BOT = "bot"


#: States in which the bot must stay silent.
OPEN_STATES = (OwnerState.QUEUED, OwnerState.ASSIGNED, OwnerState.CLOSED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """One way to reach the customer on one channel."""

    channel: str
    id: str
    kind: str = "sender_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class EarlierHandoff:
    id: str
    created_at: datetime
    reason: str
    resolution: Optional[str] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer:
    """Who the customer is, in which language and script they write, and their history."""

    sender_id: str
    display_name: Optional[str]
    language: str
    form: str
    identities: Tuple[Identity, ...] = ()
    earlier_conversations: int = 0
    earlier_handoffs: Tuple[EarlierHandoff, ...] = ()
    # Arabic dialect region of the conversation ({"region", "confidence"}; bot.language.dialect).
    dialect: Optional[Mapping[str, Any]] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelInfo:
    """The channel the customer wrote on and its reply window (None: no window)."""

    name: str
    account: Optional[str] = None
    window_expires_at: Optional[datetime] = None
    window_seconds_left: Optional[int] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntrySource:
    """How the customer arrived: an ad, a story, a comment, an entry link, or directly."""

    kind: str
    ref: Optional[str] = None
    url: Optional[str] = None
    headline: Optional[str] = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class IntentScore:
    name: str
    confidence: float
    #: What an agent reads instead of the identifier: {"en": ..., "ar": ...}.
    label: Optional[Mapping[str, str]] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntityValue:
    entity: str
    value: Any
    start: Optional[int] = None
    end: Optional[int] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """A customer's attachment.  ``ref`` (a WhatsApp media id) and ``url`` (Twilio, Instagram)
    are what the provider knows it by: the desk shows it only through its media proxy."""

    kind: str
    url: Optional[str] = None
    caption: Optional[str] = None
    ref: Optional[str] = None
    mime_type: Optional[str] = None
    filename: Optional[str] = None
    voice: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One transcript line: a customer, bot or agent message, or an internal note.

    Customer turns carry the NLU result (``intent``, ``ranking``, ``entities``,
    ``language``); agent turns carry their author and delivery ``status``.
    """

    role: str
    text: str
    at: Optional[datetime]
    id: Optional[str] = None
    status: Optional[str] = None
    author: Optional[str] = None
    intent: Optional[IntentScore] = None
    ranking: Tuple[IntentScore, ...] = ()
    entities: Tuple[EntityValue, ...] = ()
    language: Optional[str] = None
    media: Tuple[Media, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    """A short brief for the agent, in Arabic and English whatever the customer wrote."""

    ar: str
    en: str
    wants: Optional[str] = None
    #: ``wants`` in words, {"en": ..., "ar": ...}: agents never read intent identifiers.
    wants_label: Optional[Mapping[str, str]] = None
    tried: Tuple[str, ...] = ()
    facts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandoffContext:
    """The context packet of one handoff (see the module docstring)."""

    version: int = CONTEXT_VERSION
    handoff_id: str
    state: str
    reason: str
    priority: int
    queue: str
    created_at: datetime
    customer: Customer
    channel: ChannelInfo
    entry: EntrySource
    transcript: Tuple[Turn, ...]
    slots: Mapping[str, Any]
    summary: Summary
    agent: Optional[str] = None
    signals: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        """The JSON form (datetimes as ISO 8601 UTC, tuples as lists)."""
        return _plain(self)


def _plain(value: Any) -> Any:
    if is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

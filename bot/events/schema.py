"""The Majlis event schema, version 1 (documented in docs/events.md).

Every event is one JSON object::

    {"schema": "majlis.event", "version": 1, "id": "<uuid4>", "type": "message.received",
     "occurred_at": "2026-12-07T10:15:02.123000+00:00",
     "conversation": "<pseudonymous id>", "channel": "whatsapp_cloud", "data": {...}}

``conversation`` is an HMAC-SHA256 of Rasa's sender id with ``MAJLIS_EVENTS_KEY``
(a warehouse can join a conversation's events but cannot recover the phone number);
message text is included only with ``MAJLIS_EVENTS_INCLUDE_TEXT=1``.  New fields may be
added within a version; renaming or removing one makes a new version.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional

from bot.identity import channel_of
from bot.rating import BOT_ONLY, rating_of

SCHEMA, VERSION = "majlis.event", 1
TYPES = ("conversation.started", "message.received", "intent.detected", "message.sent", "handoff.created",
         "handoff.claimed", "handoff.closed", "rating.received")
#: desk event type → schema type
DESK_TYPES = {"handoff.created": "handoff.created", "handoff.claimed": "handoff.claimed",
              "handoff.closed": "handoff.closed", "handoff.rated": "rating.received"}


class Pseudonym:
    """Conversation ids for the outside: stable per sender id, not reversible without the key."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    def __call__(self, sender: str) -> str:
        return hmac.new(self.key, sender.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def envelope(kind: str, occurred_at: datetime, conversation: str, channel: Optional[str],
             data: Mapping[str, Any]) -> Dict[str, Any]:
    assert kind in TYPES, kind
    return {"schema": SCHEMA, "version": VERSION, "id": str(uuid.uuid4()), "type": kind,
            "occurred_at": occurred_at.astimezone(timezone.utc).isoformat(), "conversation": conversation,
            "channel": channel, "data": dict(data)}


def _at(stamp: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(stamp), tz=timezone.utc)
    except (TypeError, ValueError):
        return datetime.now(timezone.utc)


def from_tracker(event: Mapping[str, Any], pseudonym: Pseudonym, include_text: bool) -> List[Dict[str, Any]]:
    """Schema events for one published tracker event (most tracker events map to none)."""
    sender = str(event.get("sender_id") or "")
    kind, at = event.get("event"), _at(event.get("timestamp"))
    conversation = pseudonym(sender)
    metadata = event.get("metadata") or {}
    if kind == "session_started":
        return [envelope("conversation.started", at, conversation, None, {})]
    if kind == "user":
        channel = event.get("input_channel")
        parse = event.get("parse_data") or {}
        language = parse.get("language") or {}
        intent = parse.get("intent") or {}
        entry = metadata.get("entry_source") if isinstance(metadata.get("entry_source"), dict) else {}
        message = {"language": language.get("code"), "form": language.get("form"),
                   "entry_source": (entry or {}).get("source")}
        if include_text:
            message["text"] = event.get("text")
        return [envelope("message.received", at, conversation, channel, message),
                envelope("intent.detected", at, conversation, channel, {
                    "intent": intent.get("name"), "confidence": intent.get("confidence"),
                    "language": language.get("code"), "form": language.get("form"),
                    "dialect": (language.get("dialect") or {}).get("region")})]
    if kind == "bot":
        rated = rating_of(event)
        if rated is not None and rated[1] == BOT_ONLY:  # an agent's comes from the desk (handoff.rated)
            return [envelope("rating.received", at, conversation, channel_of(sender),
                             {"rating": rated[0], "handled_by": BOT_ONLY})]
        sent: Dict[str, Any] = {"template": metadata.get("utter_action") or metadata.get("template_name")}
        if include_text:
            sent["text"] = event.get("text")
        return [envelope("message.sent", at, conversation, None, sent)]
    return []


def from_desk(event: Any, record: Any, pseudonym: Pseudonym) -> Optional[Dict[str, Any]]:
    """The schema event for a desk event (``EventRecord``) of ``record`` (``HandoffRecord``), if any."""
    kind = DESK_TYPES.get(event.type)
    if kind is None:
        return None
    payload = dict(event.payload or {})
    data: Dict[str, Any] = {"handoff_id": record.public_id, "queue": record.queue, "language": record.language}
    if kind == "handoff.created":
        data.update(reason=record.reason, priority=record.priority)
    elif kind == "handoff.claimed":
        data.update(agent_id=record.agent_id,
                    wait_seconds=round((event.created_at - record.created_at).total_seconds(), 3))
    elif kind == "handoff.closed":
        data.update(agent_id=record.agent_id, resolution=payload.get("resolution"))
    elif kind == "rating.received":
        data.update(rating=payload.get("rating"), handled_by="agent")
    return envelope(kind, event.created_at, pseudonym(record.customer), record.channel, data)

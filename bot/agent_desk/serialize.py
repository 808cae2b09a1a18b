"""JSON shapes of the desk API (the OpenAPI file describes them)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Mapping, Optional

from bot.handoff.context import HandoffContext
from bot.handoff.records import EventRecord, HandoffRecord, MessageRecord


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value else None


def handoff_item(record: HandoffRecord, now: datetime, agent_names: Mapping[int, str]) -> Dict[str, Any]:
    """A queue row: enough to sort, route and preview without the full packet."""
    summary = record.context.get("summary") or {}
    return {
        "id": record.public_id,
        "state": record.state.value,
        "queue": record.queue,
        "language": record.language,
        "form": record.context.get("form"),
        "priority": record.priority,
        "reason": record.reason,
        "channel": record.channel,
        "created_at": _iso(record.created_at),
        "waiting_seconds": int((now - record.created_at).total_seconds()),
        "assigned_at": _iso(record.assigned_at),
        "closed_at": _iso(record.closed_at),
        "resolution": record.resolution,
        "agent_id": record.agent_id,
        "agent": agent_names.get(record.agent_id) if record.agent_id else None,
        "wants": record.context.get("wants"),
        "wants_label": record.context.get("wants_label"),
        "facts": record.context.get("facts") or {},
        "summary": {"ar": summary.get("ar"), "en": summary.get("en")},
        "signals": record.context.get("signals") or [],
        "rating": record.rating,
    }


def message_item(message: MessageRecord) -> Dict[str, Any]:
    return {"id": message.id, "kind": message.kind, "text": message.text, "author": message.author,
            "created_at": _iso(message.created_at), "attempt": message.send_attempt,
            "delivery_state": message.delivery_state}


def detail(record: HandoffRecord, context: HandoffContext, now: datetime,
           agent_names: Mapping[int, str]) -> Dict[str, Any]:
    """One handoff with its full context packet."""
    return {"handoff": handoff_item(record, now, agent_names), "context": context.to_dict()}


def event_item(event: Any) -> Dict[str, Any]:
    """A live event for the desk (stored events, or status ticks published as dicts)."""
    if isinstance(event, EventRecord):
        return {"id": event.id, "type": event.type, "handoff_id": event.payload.get("handoff_id"),
                "created_at": _iso(event.created_at), "data": dict(event.payload)}
    return {"id": None, "type": event.get("type"), "handoff_id": event.get("handoff_id"), "data": dict(event)}

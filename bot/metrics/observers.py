"""What turns the observed events into metric updates.

- :func:`observe_tracker_event`: a saved tracker event.  A customer message gives the
  NLU confidence and fallback by language/form, and the turn's latency: the store
  publishes a turn's events when it saves the turn, so "now" minus the message's
  timestamp (set when Rasa logged it) is the time the turn took.  A bot turn that
  records a rating (:mod:`bot.rating`) counts it.
- :class:`HandoffMetrics`: desk events (created, claimed, agent reply, closed) and the
  queue gauges, read from the handoff store just before each scrape.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Set

from bot.metrics.series import (
    CHANNELS,
    FORMS,
    HANDOFF_CLAIM_SECONDS,
    HANDOFF_FIRST_RESPONSE_SECONDS,
    HANDOFF_HANDLING_SECONDS,
    HANDOFFS_CREATED,
    LANGUAGES,
    NLU_CONFIDENCE,
    NLU_FALLBACKS,
    QUEUE_LENGTH,
    QUEUE_OLDEST_WAIT_SECONDS,
    RATINGS,
    TURN_SECONDS,
    bounded,
)
from bot.rating import rating_of

FALLBACK_INTENT = "nlu_fallback"


def language_labels(parse_data: Dict[str, Any]) -> Dict[str, str]:
    language = parse_data.get("language") or {}
    return {"language": bounded(language.get("code"), LANGUAGES), "form": bounded(language.get("form"), FORMS)}


def observe_tracker_event(event: Dict[str, Any], now: Optional[float] = None) -> None:
    """Update the NLU, turn and rating series from one published tracker event."""
    if event.get("event") != "user":
        rated = rating_of(event)
        if rated is not None:
            RATINGS.labels(handled_by=rated[1], rating=str(rated[0])).inc()
        return
    parse_data = event.get("parse_data") or {}
    labels = language_labels(parse_data)
    intent = parse_data.get("intent") or {}
    if intent.get("confidence") is not None:
        NLU_CONFIDENCE.labels(**labels).observe(float(intent["confidence"]))
    if intent.get("name") == FALLBACK_INTENT:
        NLU_FALLBACKS.labels(**labels).inc()
    stamp = event.get("timestamp")
    if isinstance(stamp, (int, float)):
        took = (time.time() if now is None else now) - float(stamp)
        if 0 <= took < 3600:  # a replayed or imported event is not a turn
            TURN_SECONDS.labels(channel=bounded(event.get("input_channel") or "rest", CHANNELS)).observe(took)


class _Seen:
    """A bounded set of handoff ids (first claim / first reply already counted)."""

    def __init__(self, size: int = 10000) -> None:
        self._items: "OrderedDict[int, None]" = OrderedDict()
        self._size = size

    def add(self, key: int) -> bool:
        """True when ``key`` is new."""
        if key in self._items:
            return False
        self._items[key] = None
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return True


class HandoffMetrics:
    """Handoff series from the desk's events; queue gauges from the store.

    Args:
        store: the desk's :class:`bot.handoff.store.HandoffStore`.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._claimed, self._answered = _Seen(), _Seen()
        self._queues: Set[str] = set()

    async def handle(self, event: Any) -> None:
        # The hub also carries plain dicts (delivery ticks, offers): only stored events count here.
        kind = getattr(event, "type", None)
        if kind not in ("handoff.created", "handoff.claimed", "handoff.message", "handoff.closed"):
            return
        record = await self.store.get_by_id(event.handoff_id)
        if record is None:
            return
        queue = bounded(record.queue)
        if kind == "handoff.created":
            HANDOFFS_CREATED.labels(reason=bounded(record.reason), channel=bounded(record.channel, CHANNELS),
                                    language=bounded(record.language, LANGUAGES)).inc()
        elif kind == "handoff.claimed" and self._claimed.add(record.id):
            HANDOFF_CLAIM_SECONDS.labels(queue=queue).observe(_seconds(record.created_at, event.created_at))
        elif kind == "handoff.message" and self._answered.add(record.id):
            HANDOFF_FIRST_RESPONSE_SECONDS.labels(queue=queue).observe(_seconds(record.created_at, event.created_at))
        elif kind == "handoff.closed" and record.assigned_at is not None:
            HANDOFF_HANDLING_SECONDS.labels(queue=queue).observe(_seconds(record.assigned_at, event.created_at))

    async def refresh_queues(self) -> None:
        """Set the queue gauges (queues with nobody waiting go back to 0)."""
        now = datetime.now(timezone.utc)
        waiting: Dict[str, Any] = {}
        for row in await self.store.queue_counts():
            if row["state"] == "queued":
                waiting[bounded(row["queue"])] = row
        for queue in self._queues | set(waiting):
            row = waiting.get(queue)
            QUEUE_LENGTH.labels(queue=queue).set(row["count"] if row else 0)
            oldest = row["oldest"].replace(tzinfo=timezone.utc) if row and row["oldest"] else None
            QUEUE_OLDEST_WAIT_SECONDS.labels(queue=queue).set(_seconds(oldest, now) if oldest else 0)
        self._queues |= set(waiting)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())

"""The metric objects, on prometheus_client's default registry (one per process).

Buckets are chosen for what is measured: webhook acknowledgements in milliseconds
(Meta retries after 10-20 s), turns in tenths of seconds to tens of seconds, waits
for an agent in seconds to hours.
"""
from __future__ import annotations

import re
import threading
from typing import Iterable, Optional, Set

from prometheus_client import Counter, Gauge, Histogram

OTHER = "other"
_LABEL = re.compile(r"^[a-z0-9_.-]{1,40}$")

#: Known values of the free-ish labels; anything else is reported as ``other``.
CHANNELS = frozenset({"whatsapp_cloud", "twilio_whatsapp", "twilio_sms", "instagram", "webchat", "rest",
                      "agent_desk", "socketio", "callback", "cmdline"})
LANGUAGES = frozenset({"ar", "en", "unknown"})
FORMS = frozenset({"arabic", "arabizi", "english", "unknown"})

_codes: Set[str] = set()
_codes_lock = threading.Lock()
#: Distinct provider error codes kept as labels before the rest become ``other``.
MAX_ERROR_CODES = 60


def bounded(value: Optional[object], allowed: Optional[Iterable[str]] = None) -> str:
    """``value`` as a label: from ``allowed`` when given, else any short [a-z0-9_.-] token; else ``other``."""
    text = str(value).strip().lower() if value not in (None, "") else "unknown"
    if allowed is not None:
        return text if text in allowed else OTHER
    return text if _LABEL.match(text) else OTHER


def error_code_label(code: Optional[object]) -> str:
    """A provider error code as a label: digits only, at most :data:`MAX_ERROR_CODES` distinct ones."""
    if code in (None, ""):
        return "none"
    text = str(code).strip()
    if not text.isdigit() or len(text) > 8:
        return OTHER
    with _codes_lock:
        if text in _codes or len(_codes) < MAX_ERROR_CODES:
            _codes.add(text)
            return text
    return OTHER


_FAST = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_TURN = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
_WAIT = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
_CONFIDENCE = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)

WEBHOOKS_RECEIVED = Counter("majlis_webhooks_received", "Provider webhook requests received", ["channel"])
WEBHOOKS_ACKNOWLEDGED = Counter("majlis_webhooks_acknowledged", "Provider webhook requests answered, by status class",
                                ["channel", "status"])
WEBHOOK_ACK_SECONDS = Histogram("majlis_webhook_ack_seconds", "Time from a webhook request to its answer",
                                ["channel"], buckets=_FAST)
TURN_SECONDS = Histogram("majlis_turn_seconds", "Time from a customer message to the saved bot turn",
                         ["channel"], buckets=_TURN)
NLU_CONFIDENCE = Histogram("majlis_nlu_confidence", "Confidence of the top intent", ["language", "form"],
                           buckets=_CONFIDENCE)
NLU_FALLBACKS = Counter("majlis_nlu_fallbacks", "Messages the NLU could not place (nlu_fallback)",
                        ["language", "form"])
HANDOFFS_CREATED = Counter("majlis_handoffs_created", "Conversations handed to a person",
                           ["reason", "channel", "language"])
QUEUE_LENGTH = Gauge("majlis_handoff_queue_length", "Handoffs waiting for an agent", ["queue"])
QUEUE_OLDEST_WAIT_SECONDS = Gauge("majlis_handoff_queue_oldest_wait_seconds",
                                  "How long the oldest waiting handoff has waited", ["queue"])
HANDOFF_CLAIM_SECONDS = Histogram("majlis_handoff_time_to_claim_seconds", "From handoff to an agent taking it",
                                  ["queue"], buckets=_WAIT)
HANDOFF_FIRST_RESPONSE_SECONDS = Histogram("majlis_handoff_first_response_seconds",
                                           "From handoff to the agent's first reply", ["queue"], buckets=_WAIT)
HANDOFF_HANDLING_SECONDS = Histogram("majlis_handoff_handling_seconds", "From an agent taking a handoff to closing it",
                                     ["queue"], buckets=_WAIT)
MESSAGES_SENT = Counter("majlis_messages_sent", "Outbound messages the provider accepted", ["channel", "kind"])
MESSAGES_FAILED = Counter("majlis_messages_failed", "Outbound messages that failed for good, by provider error code",
                          ["channel", "error_code"])
WINDOW_EXPIRIES = Counter("majlis_window_expiries", "Messages not sent: the customer-service window had closed",
                          ["channel"])
TEMPLATE_FALLBACKS = Counter("majlis_template_fallbacks", "Approved templates queued because the window had closed",
                             ["channel"])
RATINGS = Counter("majlis_ratings", "1-5 ratings customers gave, for bot-only and agent-handled conversations",
                  ["handled_by", "rating"])
TRAINER_ACTIVATIONS = Counter("majlis_trainer_activations", "Models a trainer activated from the desk", ["result"])
EVENTS_PUBLISHED = Counter("majlis_events_published", "Schema events published to the broker (bot.events)", ["type"])
EVENTS_DROPPED = Counter("majlis_events_dropped", "Schema events dropped: the queue was full while the broker was away",
                         ["reason"])

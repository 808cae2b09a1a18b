"""Prometheus metrics of Majlis: every series, defined once (``prometheus_client``).

Each process (the Rasa server with the desk, the WhatsApp receiver) exposes its own
registry on ``/metrics`` (:mod:`bot.metrics.exposition`).  Labels are bounded on
purpose: channel names, languages, forms, reasons, queues and provider error codes
come from small closed sets (:func:`bounded` folds anything else into ``other``);
never a customer id, a phone number or text.
"""
from __future__ import annotations

from bot.metrics.series import (
    HANDOFF_CLAIM_SECONDS,
    HANDOFF_FIRST_RESPONSE_SECONDS,
    HANDOFF_HANDLING_SECONDS,
    HANDOFFS_CREATED,
    MESSAGES_FAILED,
    MESSAGES_SENT,
    NLU_CONFIDENCE,
    NLU_FALLBACKS,
    QUEUE_LENGTH,
    QUEUE_OLDEST_WAIT_SECONDS,
    RATINGS,
    TEMPLATE_FALLBACKS,
    TRAINER_ACTIVATIONS,
    TURN_SECONDS,
    WEBHOOK_ACK_SECONDS,
    WEBHOOKS_ACKNOWLEDGED,
    WEBHOOKS_RECEIVED,
    WINDOW_EXPIRIES,
    bounded,
    error_code_label,
)

__all__ = [
    "HANDOFF_CLAIM_SECONDS", "HANDOFF_FIRST_RESPONSE_SECONDS", "HANDOFF_HANDLING_SECONDS", "HANDOFFS_CREATED",
    "MESSAGES_FAILED", "MESSAGES_SENT", "NLU_CONFIDENCE", "NLU_FALLBACKS", "QUEUE_LENGTH",
    "QUEUE_OLDEST_WAIT_SECONDS", "RATINGS", "TEMPLATE_FALLBACKS", "TRAINER_ACTIVATIONS", "TURN_SECONDS",
    "WEBHOOK_ACK_SECONDS", "WEBHOOKS_ACKNOWLEDGED", "WEBHOOKS_RECEIVED", "WINDOW_EXPIRIES", "bounded",
    "error_code_label",
]

"""Delivery outcomes as metrics: one call per outcome from the delivery layer."""
from __future__ import annotations

from typing import Optional

from bot.metrics.series import (
    CHANNELS,
    MESSAGES_FAILED,
    MESSAGES_SENT,
    TEMPLATE_FALLBACKS,
    WINDOW_EXPIRIES,
    bounded,
    error_code_label,
)


def sent(channel: str, kind: Optional[str]) -> None:
    MESSAGES_SENT.labels(channel=bounded(channel, CHANNELS), kind=bounded(kind)).inc()


def failed(channel: str, code: Optional[object]) -> None:
    MESSAGES_FAILED.labels(channel=bounded(channel, CHANNELS), error_code=error_code_label(code)).inc()


def window_expired(channel: str) -> None:
    WINDOW_EXPIRIES.labels(channel=bounded(channel, CHANNELS)).inc()


def template_fallback(channel: str) -> None:
    TEMPLATE_FALLBACKS.labels(channel=bounded(channel, CHANNELS)).inc()

"""Webhook counts and acknowledgement latency, measured around the HTTP route.

A provider webhook is ``POST /webhooks/<channel>/webhook`` on every Majlis process,
so one middleware measures every channel without touching the channels: received
when the request arrives, acknowledged (with the answer's status class) and timed
when the answer leaves.
"""
from __future__ import annotations

import re
import time
from typing import Any, Optional

from bot.metrics.series import CHANNELS, WEBHOOK_ACK_SECONDS, WEBHOOKS_ACKNOWLEDGED, WEBHOOKS_RECEIVED, bounded

_WEBHOOK = re.compile(r"^/webhooks/([^/]+)/webhook/?$")


def webhook_channel(method: str, path: str) -> Optional[str]:
    """The channel label of a provider webhook POST, else None."""
    if method != "POST":
        return None
    match = _WEBHOOK.match(path)
    return bounded(match.group(1), CHANNELS) if match else None


def received(channel: str) -> float:
    WEBHOOKS_RECEIVED.labels(channel=channel).inc()
    return time.perf_counter()


def answered(channel: str, started: float, status: int) -> None:
    WEBHOOKS_ACKNOWLEDGED.labels(channel=channel, status=f"{status // 100}xx").inc()
    WEBHOOK_ACK_SECONDS.labels(channel=channel).observe(time.perf_counter() - started)


def add_sanic_middleware(app: Any) -> None:
    """Measure the webhooks of a Sanic app."""

    @app.on_request
    async def webhook_received(request: Any) -> None:
        channel = webhook_channel(request.method, request.path)
        if channel is not None:
            request.ctx.majlis_webhook = (channel, received(channel))

    @app.on_response
    async def webhook_answered(request: Any, response: Any) -> None:
        measured = getattr(request.ctx, "majlis_webhook", None)
        if measured is not None and response is not None:
            answered(measured[0], measured[1], response.status)


def aiohttp_middleware() -> Any:
    """The same for an aiohttp application (the WhatsApp receiver)."""
    from aiohttp import web

    @web.middleware
    async def measure(request: web.Request, handler: Any) -> Any:
        channel = webhook_channel(request.method, request.path)
        if channel is None:
            return await handler(request)
        started = received(channel)
        try:
            answer = await handler(request)
        except web.HTTPException as exc:
            answered(channel, started, exc.status)
            raise
        except Exception:
            answered(channel, started, 500)
            raise
        answered(channel, started, answer.status)
        return answer

    return measure

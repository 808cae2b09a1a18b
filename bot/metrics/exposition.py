"""``GET /metrics`` for Sanic (the Rasa server) and aiohttp (the WhatsApp receiver).

Who may read: with ``MAJLIS_METRICS_TOKEN`` set, callers sending
``Authorization: Bearer <token>``; without it, only connections from the loopback
interface (a Prometheus on the same host, or a sidecar).  Behind a reverse proxy on
the same machine every request looks local, so such deployments set the token
(docs/metrics.md).  The answer carries counts and timings only, never customer data.
"""
from __future__ import annotations

import hmac
import ipaddress
from typing import Any, Awaitable, Callable, List, Optional

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.config import Config, config

TOKEN_ENV = "MAJLIS_METRICS_TOKEN"
PATH = "/metrics"

#: Called before each scrape (e.g. to read queue lengths from the database).
Refresher = Callable[[], Awaitable[None]]


def allowed(authorization: Optional[str], peer: Optional[str], cfg: Config = config) -> bool:
    """Whether a scrape from ``peer`` with this Authorization header may read the metrics."""
    token = cfg(TOKEN_ENV, default="")
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))
    try:
        return ipaddress.ip_address((peer or "").split("%")[0]).is_loopback
    except ValueError:
        return False


async def exposition(refreshers: List[Refresher]) -> bytes:
    for refresh in refreshers:
        await refresh()
    return generate_latest(REGISTRY)


def add_sanic_route(app: Any, refreshers: List[Refresher], cfg: Config = config) -> None:
    """``GET /metrics`` on a Sanic app (the Rasa server's)."""
    from sanic import response

    async def metrics(request: Any) -> Any:
        # conn_info.client_ip is the socket's peer: X-Forwarded-For cannot make a request local
        peer = request.conn_info.client_ip if request.conn_info else None
        if not allowed(request.headers.get("Authorization"), peer, cfg):
            return response.text("forbidden", status=403)
        return response.raw(await exposition(refreshers), content_type=CONTENT_TYPE_LATEST)

    app.add_route(metrics, PATH, methods=["GET"], name="majlis_metrics")


def add_aiohttp_route(app: Any, refreshers: Optional[List[Refresher]] = None, cfg: Config = config) -> None:
    """``GET /metrics`` on an aiohttp application (the WhatsApp receiver)."""
    from aiohttp import web

    async def metrics(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if not allowed(request.headers.get("Authorization"), peer[0] if peer else None, cfg):
            return web.Response(status=403, text="forbidden")
        body = await exposition(refreshers or [])
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(PATH, metrics)

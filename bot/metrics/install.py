"""Installing the metrics into a process: the Rasa server (with the desk) or the receiver.

:func:`instrument_rasa_app` is called by ``bot.rasa_fixes`` on the app Rasa's
``configure_app`` builds (``./majlis start`` and the tests use it), so ``rasa run``
gets ``/metrics`` at its root, the webhook middleware, the tracker-event observer and,
once the desk has started, the handoff observer and queue gauges.
"""
from __future__ import annotations

import logging
from typing import Any, List

from bot.metrics.exposition import Refresher, add_aiohttp_route, add_sanic_route
from bot.metrics.follow import HubFollower, tee_tracker_events, untee_tracker_events
from bot.metrics.observers import HandoffMetrics, observe_tracker_event
from bot.metrics.webhooks import add_sanic_middleware, aiohttp_middleware

logger = logging.getLogger(__name__)


def desks_of(app: Any) -> List[Any]:
    """The running agent desks (``DeskApp``) among the app's input channels."""
    return [channel.desk for channel in getattr(app.ctx, "input_channels", None) or ()
            if getattr(channel, "desk", None) is not None]


def instrument_rasa_app(app: Any) -> Any:
    """Add ``/metrics`` and the observers to Rasa's Sanic app; returns ``app``."""
    refreshers: List[Refresher] = []
    followers: List[HubFollower] = []
    add_sanic_route(app, refreshers)
    add_sanic_middleware(app)

    @app.listener("after_server_start")
    async def observe(app: Any, _loop: Any) -> None:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            tee_tracker_events(agent, observe_tracker_event)
        for desk in desks_of(app):
            handoffs = HandoffMetrics(desk.service.store)
            refreshers.append(handoffs.refresh_queues)
            follower = HubFollower(desk.service.hub, handoffs.handle, "handoff metrics")
            follower.start()
            followers.append(follower)

    @app.listener("before_server_stop")
    async def stop_observing(app: Any, _loop: Any) -> None:
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            untee_tracker_events(agent, observe_tracker_event)
        for follower in followers:
            await follower.stop()
        followers.clear()
        refreshers.clear()

    return app


def instrument_aiohttp_app(app: Any) -> Any:
    """``/metrics`` and the webhook middleware on an aiohttp app (call before it starts)."""
    app.middlewares.append(aiohttp_middleware())
    add_aiohttp_route(app)
    return app

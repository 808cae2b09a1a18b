"""Wiring the event export into the Rasa server app (``MAJLIS_EVENTS_AMQP_URL`` turns it on).

Settings (environment): ``MAJLIS_EVENTS_AMQP_URL`` (e.g. ``amqp://user:pw@127.0.0.1:5672/``),
``MAJLIS_EVENTS_EXCHANGE`` (default ``majlis.events``), ``MAJLIS_EVENTS_KEY`` (the
pseudonymisation key; default generated once into ``$MAJLIS_DATA_DIR/events.key``),
``MAJLIS_EVENTS_INCLUDE_TEXT`` (``1`` to include message text; default off).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from bot.config import Config, config, to_bool
from bot.events.publisher import EventPublisher
from bot.events.schema import Pseudonym, from_desk, from_tracker
from bot.identity import server_secret
from bot.metrics.follow import HubFollower, tee_tracker_events, untee_tracker_events
from bot.metrics.install import desks_of

logger = logging.getLogger(__name__)

URL_ENV, EXCHANGE_ENV, KEY_ENV, TEXT_ENV = ("MAJLIS_EVENTS_AMQP_URL", "MAJLIS_EVENTS_EXCHANGE", "MAJLIS_EVENTS_KEY",
                                            "MAJLIS_EVENTS_INCLUDE_TEXT")


class EventExport:
    """Tracker events and desk events → schema events → the publisher."""

    def __init__(self, publisher: EventPublisher, pseudonym: Pseudonym, include_text: bool) -> None:
        self.publisher, self.pseudonym, self.include_text = publisher, pseudonym, include_text
        self.followers: List[HubFollower] = []

    def tracker_event(self, event: Dict[str, Any]) -> None:
        for item in from_tracker(event, self.pseudonym, self.include_text):
            self.publisher.publish(item)

    def follow(self, desk: Any) -> None:
        async def handle(event: Any) -> None:
            record = await desk.service.store.get_by_id(event.handoff_id)
            item = from_desk(event, record, self.pseudonym) if record is not None else None
            if item is not None:
                self.publisher.publish(item)

        follower = HubFollower(desk.service.hub, handle, "event export")
        follower.start()
        self.followers.append(follower)


def export_events(app: Any, cfg: Config = config) -> Any:
    """Publish schema events from this app when ``MAJLIS_EVENTS_AMQP_URL`` is set; returns ``app``."""
    url = cfg(URL_ENV, default="")
    if not url:
        return app
    holder: Dict[str, Optional[EventExport]] = {"export": None}

    @app.listener("after_server_start")
    async def start(app: Any, _loop: Any) -> None:
        publisher = EventPublisher(url, exchange=cfg(EXCHANGE_ENV, default="majlis.events"))
        key = server_secret(KEY_ENV, "events.key", cfg).reveal().encode("utf-8")
        export = holder["export"] = EventExport(publisher, Pseudonym(key), to_bool(cfg(TEXT_ENV, default="0")))
        await publisher.start()
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            tee_tracker_events(agent, export.tracker_event)
        for desk in desks_of(app):
            export.follow(desk)
        app.ctx.majlis_events = export
        logger.info("Publishing Majlis events to exchange %s", publisher.exchange_name)

    @app.listener("before_server_stop")
    async def stop(app: Any, _loop: Any) -> None:
        export = holder["export"]
        if export is None:
            return
        agent = getattr(app.ctx, "agent", None)
        if agent is not None:
            untee_tracker_events(agent, export.tracker_event)
        for follower in export.followers:
            await follower.stop()
        await export.publisher.stop()

    return app

"""Live updates for desk pages: server-sent events (``GET /api/v1/events``).

A browser reconnecting with ``Last-Event-ID`` first gets the stored events it missed
(from the event log), then live ones.  Each event is only sent to callers allowed to
see its handoff (the same rule as the API), and a comment line every 15 s keeps
proxies from closing the stream.  At every heartbeat the caller's session (or
token) is checked again: after a sign-out, a disabled account or a revoked token
the stream ends within one heartbeat.
"""
from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Dict, Optional

from sanic import Blueprint
from sanic.request import Request

from bot.agent_desk.http import SESSION_COOKIE, Caller, error_answer, identify
from bot.agent_desk.serialize import event_item
from bot.handoff.desk import Actor, DeskError
from bot.handoff.records import HandoffRecord

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
REPLAY_LIMIT = 500


def sse(data: Dict[str, Any], event_id: Optional[int] = None) -> str:
    """One server-sent event (JSON data; ids only for stored events)."""
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: handoff\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


class Visibility:
    """Whether an actor may see a handoff's events (cached per stream)."""

    def __init__(self, desk: "DeskApp", actor: Actor) -> None:
        self.desk, self.actor = desk, actor
        self._seen: Dict[str, HandoffRecord] = {}

    async def allows(self, handoff_id: Optional[str], fresh: bool) -> bool:
        if not handoff_id:
            return False
        record = None if fresh else self._seen.get(handoff_id)
        if record is None:
            record = await self.desk.desk.store.get(handoff_id)
            if record is None:
                return False
            self._seen[handoff_id] = record
        return self.actor.can_view(record)


async def still_allowed(desk: "DeskApp", request: Request, caller: Caller) -> bool:
    """Whether the stream's credentials are still good (session live, account active, token not revoked)."""
    if caller.integration is not None:
        header = request.headers.get("Authorization", "")
        return await desk.accounts.integration(header[7:].strip()) is not None
    return await desk.accounts.session(request.cookies.get(SESSION_COOKIE)) is not None


def register_stream(bp: Blueprint, desk: "DeskApp") -> None:
    """Add ``GET /api/v1/events`` to ``bp``."""

    @bp.route("/api/v1/events", methods=["GET"])
    async def events(request: Request) -> Any:
        try:
            caller = await identify(desk, request, "handoffs:read")
        except DeskError as exc:
            return error_answer(exc)
        visibility = Visibility(desk, caller.actor)
        subscription = desk.service.hub.subscribe()
        answer = await request.respond(content_type="text/event-stream; charset=utf-8",
                                       headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        try:
            await answer.send(": connected\n\n")
            last = request.headers.get("Last-Event-ID")
            if last and last.isdigit():
                for stored in await desk.desk.store.events_since(int(last), REPLAY_LIMIT):
                    item = event_item(stored)
                    if await visibility.allows(item["handoff_id"], fresh=True):
                        await answer.send(sse(item, stored.id))
            checked = time.monotonic()
            while not subscription.overflowed:
                event = await subscription.next(desk.heartbeat)
                if subscription.overflowed:
                    break
                if time.monotonic() - checked >= desk.heartbeat:
                    checked = time.monotonic()
                    if not await still_allowed(desk, request, caller):
                        logger.info("Event stream of agent %d ended: signed out or disabled", caller.actor.id)
                        await answer.send("event: signed-out\ndata: {}\n\n")
                        break
                if event is None:
                    await answer.send(": keep-alive\n\n")
                    continue
                item = event_item(event)
                fresh = item["type"] in ("handoff.claimed", "handoff.transferred", "handoff.released")
                if await visibility.allows(item["handoff_id"], fresh=fresh):
                    await answer.send(sse(item, item["id"]))
        finally:
            desk.service.hub.unsubscribe(subscription)
        await answer.eof()
        return None

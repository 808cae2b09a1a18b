"""Assignment routes of the desk API: presence, offers, per-queue switches, reply windows.

- ``GET/POST /api/v1/me/presence``: the caller is available for offers or away;
- ``GET /api/v1/offers``, ``POST /api/v1/offers/<id>/accept|decline``: the caller's offers
  (an accept is a claim; an offer that timed out answers 409);
- ``GET /api/v1/assignment`` (supervisors): queue switches, agents' presence and load,
  escalated reply windows; ``POST /api/v1/queues/<queue>/assignment`` switches a queue.

The rules are in :mod:`bot.handoff.assignment`; here only HTTP.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import Caller, api_route, body
from bot.agent_desk.serialize import handoff_item
from bot.handoff.window_store import WindowMark
from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor, DeskError, Forbidden
from bot.handoff.records import HandoffRecord

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"


def window_item(mark: Optional[WindowMark], now: datetime) -> Optional[Dict[str, Any]]:
    """How long the channel still allows a free-form reply, and whether supervisors were told."""
    if mark is None or mark.expires_at is None:
        return None
    return {"expires_at": mark.expires_at.isoformat(),
            "seconds_left": max(0, int((mark.expires_at - now).total_seconds())),
            "escalated": mark.escalated_at is not None}


async def with_windows(desk: "DeskApp", records: Sequence[HandoffRecord], items: List[Dict[str, Any]],
                       now: datetime) -> List[Dict[str, Any]]:
    """Queue rows with their reply window (``window``: null when the channel has none)."""
    marks = await desk.assigner.windows.windows([r.id for r in records])
    for record, item in zip(records, items):
        item["window"] = window_item(marks.get(record.id), now)
    return items


def _flag(data: Dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise DeskError(f"{key} must be true or false")
    return value


def _supervisor(actor: Actor) -> None:
    if not actor.oversees:
        raise Forbidden("supervisors only")


def register_assignment_api(bp: Blueprint, desk: "DeskApp") -> None:
    """Add the assignment routes to ``bp``."""
    assigner, store = desk.assigner, desk.assigner.store
    default_capacity = desk.settings.assignment.default_capacity

    async def presence(actor: Actor) -> Dict[str, Any]:
        mine = await store.presence(actor.id)
        assigned = await desk.service.store.list(states=[OwnerState.ASSIGNED], agent_id=actor.id)
        offered = await store.offers(agent_id=actor.id)  # an open offer holds a place, as in the assigner
        served = [q for q in desk.settings.queues if "*" in actor.queues or q in actor.queues]
        switches = await store.auto_assign(served, desk.settings.assignment.auto_assign)
        return {"available": mine.available, "load": len(assigned) + len(offered), "auto_assign": switches,
                "capacity": mine.capacity if mine.capacity is not None else default_capacity}

    @bp.route(f"{PREFIX}/me/presence", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def read_presence(_request: Request, caller: Caller) -> HTTPResponse:
        return response.json(await presence(caller.actor))

    @bp.route(f"{PREFIX}/me/presence", methods=["POST"])
    @api_route(desk, "handoffs:claim")
    async def set_presence(request: Request, caller: Caller) -> HTTPResponse:
        if caller.actor.role == "trainer":
            raise Forbidden("trainers do not take conversations")
        await assigner.set_available(caller.actor.id, _flag(body(request), "available"))
        return response.json(await presence(caller.actor))

    @bp.route(f"{PREFIX}/offers", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def offers(_request: Request, caller: Caller) -> HTTPResponse:
        now = desk.now()
        found = [{"id": o["offer"].id, "expires_at": o["offer"].expires_at.isoformat(),
                  "seconds_left": max(0, int((o["offer"].expires_at - now).total_seconds())),
                  "handoff": handoff_item(o["handoff"], now, {})}
                 for o in await assigner.open_offers(caller.actor)]
        return response.json({"offers": found})

    @bp.route(f"{PREFIX}/offers/<offer_id:int>/accept", methods=["POST"])
    @api_route(desk, "handoffs:claim")
    async def accept(_request: Request, caller: Caller, offer_id: int) -> HTTPResponse:
        record = await assigner.accept(caller.actor, offer_id)
        return response.json({"handoff": handoff_item(record, desk.now(), {caller.actor.id: caller.actor.name})})

    @bp.route(f"{PREFIX}/offers/<offer_id:int>/decline", methods=["POST"])
    @api_route(desk, "handoffs:claim")
    async def decline(_request: Request, caller: Caller, offer_id: int) -> HTTPResponse:
        await assigner.decline(caller.actor, offer_id)
        return response.json({"declined": offer_id})

    @bp.route(f"{PREFIX}/assignment", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def overview(_request: Request, caller: Caller) -> HTTPResponse:
        _supervisor(caller.actor)
        return response.json(await assignment_overview(desk, desk.now()))

    @bp.route(f"{PREFIX}/queues/<queue>/assignment", methods=["POST"])
    @api_route(desk, "handoffs:transfer")
    async def switch(request: Request, caller: Caller, queue: str) -> HTTPResponse:
        _supervisor(caller.actor)
        if queue not in desk.settings.queues:
            raise DeskError(f"unknown queue {queue!r}")
        on = _flag(body(request), "auto_assign")
        await store.set_auto_assign(queue, on, caller.actor.id, desk.now())
        assigner.wake("queue.assignment")
        return response.json({"queue": queue, "auto_assign": on})


async def assignment_overview(desk: "DeskApp", now: datetime) -> Dict[str, Any]:
    """For supervisors: which queues offer, who is available with what load, which windows are closing."""
    store = desk.assigner.store
    settings = desk.settings.assignment
    switches = await store.auto_assign(desk.settings.queues, settings.auto_assign)
    presences = await store.presences()
    loads = await store.loads()
    agents = [{"id": account.id, "name": account.display_name, "role": account.role,
               "available": presences[account.id].available if account.id in presences else False,
               "capacity": (presences[account.id].capacity if account.id in presences
                            and presences[account.id].capacity is not None else settings.default_capacity),
               "load": loads.get(account.id, 0)}
              for account in await desk.accounts.agents() if account.active and account.role != "trainer"
              and not account.email.startswith("integration+")]
    open_records = await desk.assigner.windows.open_handoffs()
    marks = await desk.assigner.windows.windows([r.id for r in open_records])
    escalations = [{"id": r.public_id, "queue": r.queue, "state": r.state.value,
                    "window": window_item(marks[r.id], now)}
                   for r in open_records if r.id in marks and marks[r.id].escalated_at is not None]
    return {"queues": [{"queue": q, "auto_assign": on} for q, on in switches.items()], "agents": agents,
            "escalations": sorted(escalations, key=lambda e: e["window"]["seconds_left"] if e["window"] else 0)}

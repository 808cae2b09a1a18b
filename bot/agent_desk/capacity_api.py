"""Capacity route of the desk API: a supervisor sets how many conversations an agent is offered at once.

``POST /api/v1/agents/<id>/capacity`` ``{"capacity": 3}`` (``null``: back to handoff.yml's
``assignment.default_capacity``).  The same record as ``./majlis users capacity EMAIL N``;
the assigner looks again at once (a raised capacity may get a waiting handoff offered).
The supervisor page's "Capacity" table (static/capacity.js) calls it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import Caller, api_route, body
from bot.handoff.desk import DeskError, Forbidden, NotFound

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"
#: More concurrent conversations than any person can follow is a typing mistake, not a setting.
MAX_CAPACITY = 50


def _capacity(value: Any) -> Optional[int]:
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_CAPACITY:
        raise DeskError(f"capacity must be a whole number from 0 to {MAX_CAPACITY}, or null for the default")
    return value


def register_capacity_api(bp: Blueprint, desk: "DeskApp") -> None:
    """Add the capacity route to ``bp``."""
    store = desk.assigner.store

    @bp.route(f"{PREFIX}/agents/<agent_id:int>/capacity", methods=["POST"])
    @api_route(desk, "handoffs:transfer")
    async def set_capacity(request: Request, caller: Caller, agent_id: int) -> HTTPResponse:
        if not caller.actor.oversees:
            raise Forbidden("supervisors only")
        data = body(request)
        if "capacity" not in data:
            raise DeskError("capacity is required (a whole number, or null for the default)")
        capacity = _capacity(data["capacity"])
        target = next((a for a in await desk.accounts.agents() if a.id == agent_id and a.active), None)
        if target is None:
            raise NotFound(f"no active agent #{agent_id}")
        if target.role == "trainer":
            raise DeskError(f"agent #{agent_id} is a trainer and takes no conversations")
        await store.set_capacity(agent_id, capacity, desk.now())
        desk.assigner.wake("agent.capacity")
        effective = capacity if capacity is not None else desk.settings.assignment.default_capacity
        return response.json({"agent_id": agent_id, "capacity": effective, "default": capacity is None})

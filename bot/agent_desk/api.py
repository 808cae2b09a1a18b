"""The desk's JSON API (``/api/v1``): used by the desk page and by integrations.

Same routes for both callers (http.identify decides who is calling); scopes apply to
integration tokens, roles and queues to everyone (bot.handoff.desk.Actor).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.assignment_api import with_windows
from bot.agent_desk.http import Caller, api_route, body
from bot.agent_desk.serialize import detail, handoff_item, message_item
from bot.handoff.context import OPEN_STATES, OwnerState
from bot.handoff.desk import DeskError, Forbidden
from bot.handoff.records import from_db

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
MAX_KEY = 64


def _whole(raw: Optional[str], name: str, default: int, lowest: int, highest: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not lowest <= int(raw) <= highest:
        raise DeskError(f"{name} must be a whole number from {lowest} to {highest}")
    return int(raw)


def _optional_text(data: Mapping[str, Any], key: str, longest: int = MAX_KEY) -> Optional[str]:
    """A string field (or absent); anything else is a 400."""
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > longest:
        raise DeskError(f"{key} must be a string of at most {longest} characters")
    return value


def _states(raw: str) -> List[OwnerState]:
    try:
        return [OwnerState(part) for part in raw.split(",") if part] or list(OPEN_STATES)
    except ValueError:
        raise DeskError("state must be queued, assigned, closed or bot") from None


def register_api(bp: Blueprint, desk: "DeskApp") -> None:
    """Add the API routes to ``bp``."""
    ops = desk.desk

    async def names_for(records: Any) -> Dict[int, str]:
        return dict(await desk.accounts.names([r.agent_id for r in records if r.agent_id]))

    async def one(caller: Caller, handoff_id: str) -> HTTPResponse:
        record = await ops.get(caller.actor, handoff_id)
        context = await ops.context(record)
        shown = detail(record, context, desk.now(), await names_for([record]))
        await desk.show_media(record, shown["context"])
        return response.json(shown)

    @bp.route(f"{PREFIX}/me", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def me(_request: Request, caller: Caller) -> HTTPResponse:
        settings = desk.settings
        return response.json({
            "agent": {"id": caller.actor.id, "name": caller.actor.name, "role": caller.actor.role,
                      "languages": sorted(caller.actor.languages), "queues": sorted(caller.actor.queues)},
            "queues": list(settings.queues), "resolutions": list(settings.resolutions),
            "canned_replies": [{"id": c.id, "ar": c.text.ar, "en": c.text.en} for c in settings.canned],
        })

    @bp.route(f"{PREFIX}/handoffs", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def list_handoffs(request: Request, caller: Caller) -> HTTPResponse:
        offset = _whole(request.args.get("offset"), "offset", 0, 0, 10**9)
        limit = _whole(request.args.get("limit"), "limit", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        mine = request.args.get("mine", "") in ("1", "true")
        records, total = await ops.visible(caller.actor, states=_states(request.args.get("state", "")),
                                           offset=offset, limit=limit, queue=request.args.get("queue") or None,
                                           mine=mine)
        names, now = await names_for(records), desk.now()
        items = await with_windows(desk, records, [handoff_item(r, now, names) for r in records], now)
        return response.json({"handoffs": items, "total": total, "offset": offset, "limit": limit})

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def read(_request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        return await one(caller, handoff_id)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/claim", methods=["POST"])
    @api_route(desk, "handoffs:claim")
    async def claim(_request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        await ops.claim(caller.actor, handoff_id)
        return await one(caller, handoff_id)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/release", methods=["POST"])
    @api_route(desk, "handoffs:claim")
    async def release(_request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        await ops.release(caller.actor, handoff_id)
        return await one(caller, handoff_id)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/transfer", methods=["POST"])
    @api_route(desk, "handoffs:transfer")
    async def transfer(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        data = body(request)
        to_agent = data.get("agent_id")
        if to_agent is not None and (isinstance(to_agent, bool) or not isinstance(to_agent, int)
                                     or not 0 < to_agent < 2**63):
            raise DeskError("agent_id must be a positive whole number")
        record = await ops.transfer(caller.actor, handoff_id, queue=_optional_text(data, "queue"),
                                    to_agent=to_agent)
        now = desk.now()
        return response.json({"handoff": handoff_item(record, now, await names_for([record]))})

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/messages", methods=["POST"])
    @api_route(desk, "handoffs:reply")
    async def reply(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        data = body(request)
        message = await ops.reply(caller.actor, handoff_id, data.get("text"), _optional_text(data, "client_key"))
        return response.json({"message": message_item(message)}, status=201)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/messages/<message_id:int>/retry", methods=["POST"])
    @api_route(desk, "handoffs:reply")
    async def retry(_request: Request, caller: Caller, handoff_id: str, message_id: int) -> HTTPResponse:
        message = await ops.retry(caller.actor, handoff_id, message_id)
        return response.json({"message": message_item(message)})

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/notes", methods=["POST"])
    @api_route(desk, "handoffs:reply")
    async def note(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        data = body(request)
        message = await ops.note(caller.actor, handoff_id, data.get("text"), _optional_text(data, "client_key"))
        return response.json({"message": message_item(message)}, status=201)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/close", methods=["POST"])
    @api_route(desk, "handoffs:close")
    async def close(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        resolution = _optional_text(body(request), "resolution") or ""
        record = await ops.close(caller.actor, handoff_id, resolution)
        return response.json({"handoff": handoff_item(record, desk.now(), await names_for([record]))})

    @bp.route(f"{PREFIX}/stats", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def stats(_request: Request, caller: Caller) -> HTTPResponse:
        if not caller.actor.oversees:
            raise Forbidden("supervisors only")
        return response.json(await overview(desk, desk.now()))


async def overview(desk: "DeskApp", now: datetime) -> Dict[str, Any]:
    """Queue lengths, waiting times (counted in SQL) and who handles what (the supervisor view)."""
    queues: Dict[str, Dict[str, Any]] = {q: {"queue": q, "waiting": 0, "assigned": 0, "longest_wait_seconds": 0}
                                         for q in desk.settings.queues}
    for count in await desk.desk.store.queue_counts():
        row = queues.setdefault(count["queue"], {"queue": count["queue"], "waiting": 0, "assigned": 0,
                                                 "longest_wait_seconds": 0})
        if count["state"] == OwnerState.QUEUED.value:
            row["waiting"] = int(count["count"])
            row["longest_wait_seconds"] = int((now - from_db(count["oldest"])).total_seconds())
        else:
            row["assigned"] = int(count["count"])
    assigned, _total = await desk.desk.store.page(states=[OwnerState.ASSIGNED], served=None, offset=0,
                                                  limit=1000)
    names = dict(await desk.accounts.names([r.agent_id for r in assigned if r.agent_id]))
    agents: Dict[int, Dict[str, Any]] = {}
    for record in assigned:
        entry = agents.setdefault(record.agent_id or 0, {"agent_id": record.agent_id,
                                                         "agent": names.get(record.agent_id or 0),
                                                         "handoffs": []})
        entry["handoffs"].append({"id": record.public_id, "queue": record.queue, "language": record.language,
                                  "since": record.assigned_at.isoformat() if record.assigned_at else None})
    return {"queues": list(queues.values()), "agents": list(agents.values()),
            "waiting_total": sum(q["waiting"] for q in queues.values())}

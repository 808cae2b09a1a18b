"""The desk's JSON API (``/api/v1``): used by the desk page and by integrations.

Same routes for both callers (http.identify decides who is calling); scopes apply to
integration tokens, roles and queues to everyone (bot.handoff.desk.Actor).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import Caller, api_route, body
from bot.agent_desk.serialize import detail, handoff_item, message_item
from bot.handoff.context import OPEN_STATES, OwnerState
from bot.handoff.desk import DeskError, Forbidden

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"


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
        return response.json(detail(record, context, desk.now(), await names_for([record])))

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
        records = await ops.visible(caller.actor, states=_states(request.args.get("state", "")))
        names, now = await names_for(records), desk.now()
        return response.json({"handoffs": [handoff_item(r, now, names) for r in records]})

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
        if to_agent is not None and not isinstance(to_agent, int):
            raise DeskError("agent_id must be a number")
        record = await ops.transfer(caller.actor, handoff_id, queue=data.get("queue"), to_agent=to_agent)
        now = desk.now()
        return response.json({"handoff": handoff_item(record, now, await names_for([record]))})

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/messages", methods=["POST"])
    @api_route(desk, "handoffs:reply")
    async def reply(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        data = body(request)
        message = await ops.reply(caller.actor, handoff_id, data.get("text"), data.get("client_key"))
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
        message = await ops.note(caller.actor, handoff_id, data.get("text"), data.get("client_key"))
        return response.json({"message": message_item(message)}, status=201)

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/close", methods=["POST"])
    @api_route(desk, "handoffs:close")
    async def close(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        resolution = body(request).get("resolution") or ""
        record = await ops.close(caller.actor, handoff_id, str(resolution))
        return response.json({"handoff": handoff_item(record, desk.now(), await names_for([record]))})

    @bp.route(f"{PREFIX}/stats", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def stats(_request: Request, caller: Caller) -> HTTPResponse:
        if not caller.actor.oversees:
            raise Forbidden("supervisors only")
        return response.json(await overview(desk, desk.now()))


async def overview(desk: "DeskApp", now: datetime) -> Dict[str, Any]:
    """Queue lengths, waiting times and who handles what (the supervisor view)."""
    records = await desk.desk.store.list(states=[OwnerState.QUEUED, OwnerState.ASSIGNED])
    names = dict(await desk.accounts.names([r.agent_id for r in records if r.agent_id]))
    queues: Dict[str, Dict[str, Any]] = {q: {"queue": q, "waiting": 0, "assigned": 0, "longest_wait_seconds": 0}
                                         for q in desk.settings.queues}
    agents: Dict[int, Dict[str, Any]] = {}
    for record in records:
        row = queues.setdefault(record.queue, {"queue": record.queue, "waiting": 0, "assigned": 0,
                                               "longest_wait_seconds": 0})
        if record.state == OwnerState.QUEUED:
            row["waiting"] += 1
            row["longest_wait_seconds"] = max(row["longest_wait_seconds"],
                                              int((now - record.created_at).total_seconds()))
        else:
            row["assigned"] += 1
            entry = agents.setdefault(record.agent_id or 0, {"agent_id": record.agent_id,
                                                             "agent": names.get(record.agent_id or 0),
                                                             "handoffs": []})
            entry["handoffs"].append({"id": record.public_id, "queue": record.queue, "language": record.language,
                                      "since": record.assigned_at.isoformat() if record.assigned_at else None})
    return {"queues": list(queues.values()), "agents": list(agents.values()),
            "waiting_total": sum(q["waiting"] for q in queues.values())}

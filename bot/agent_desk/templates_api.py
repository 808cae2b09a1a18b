"""Template routes of the desk API (approved WhatsApp templates after the 24-hour window).

- ``GET /api/v1/handoffs/<id>/templates``: the configured templates, each parameter with
  its value filled from the conversation's context, and whether the window is open;
- ``POST /api/v1/handoffs/<id>/templates`` ``{"key": "name:language", "values": [...],
  "client_key": "..."}``: send one (the agent may have edited the values).

The rules are in :mod:`bot.handoff.message_templates` and :mod:`bot.handoff.template_send`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Mapping

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.api import _optional_text
from bot.agent_desk.http import Caller, api_route, body
from bot.agent_desk.serialize import message_item
from bot.handoff.desk import DeskError
from bot.handoff.outbound import address
from bot.handoff.message_templates import MessageTemplate, load_templates
from bot.handoff.template_send import TEMPLATE_CHANNEL, send_template

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"


def template_item(template: MessageTemplate, context: Mapping[str, Any]) -> Dict[str, Any]:
    values = template.values_from(context)
    return {"key": template.key, "name": template.name, "language": template.language, "label": dict(template.label),
            "body": template.body,
            "parameters": [{"from": p.source, "label": dict(p.label), "value": value}
                           for p, value in zip(template.parameters, values)]}


def register_templates_api(bp: Blueprint, desk: "DeskApp") -> None:
    """Add the template routes to ``bp`` (templates read once, at start)."""
    templates = load_templates()
    ops = desk.desk

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/templates", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def listed(_request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        record = await ops.get(caller.actor, handoff_id)
        context = (await ops.context(record)).to_dict()
        delivery = desk.registry.delivery(record.channel)
        window_open = delivery is None or not record.account or await delivery.window_open(
            record.account, str(address(record.channel, record.customer) or ""))
        found = [template_item(t, context) for t in templates.values()] if record.channel == TEMPLATE_CHANNEL else []
        return response.json({"channel": record.channel, "window_open": window_open,
                              "window_seconds_left": context["channel"].get("window_seconds_left"),
                              "templates": found})

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/templates", methods=["POST"])
    @api_route(desk, "handoffs:reply")
    async def send(request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        data = body(request)
        template = templates.get(str(data.get("key") or ""))
        if template is None:
            raise DeskError("unknown template; choose one of the configured templates")
        message = await send_template(ops, caller.actor, handoff_id, template, data.get("values") or [],
                                      _optional_text(data, "client_key"))
        return response.json({"message": message_item(message)}, status=201)

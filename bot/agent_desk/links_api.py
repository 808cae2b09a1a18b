"""Customer links of the desk API: one customer's conversations on every channel.

- ``GET /api/v1/handoffs/<id>/linked-history``: every conversation linked to this handoff's
  customer (bot.handoff.customer_links), each labelled by channel with its earlier handoffs
  and latest turns; the context card shows them (static/history.js);
- ``POST /api/v1/customer-links`` ``{"person": "C-1001", "identities": [{"channel":
  "whatsapp_cloud", "id": "971501234567"}, {"channel": "instagram", "id": "1784…"}]}``:
  the operator's backend links them.  Integration tokens only (scope ``customers:link``):
  a person at the desk (or a customer) cannot make two strangers one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.agent_desk.http import Caller, api_route, body
from bot.handoff.customer_links import BACKEND, CustomerLinks, Link
from bot.handoff.desk import DeskError, Forbidden
from bot.handoff.packet import PacketInputs, transcript
from bot.identity import IdentityError, sender_id

if TYPE_CHECKING:
    from bot.agent_desk.app import DeskApp

PREFIX = "/api/v1"
LINK_SCOPE = "customers:link"
#: Latest turns shown per linked conversation (the card is read at a glance).
RECENT_TURNS = 12
MAX_IDENTITIES = 20
CHANNEL_LABELS = {"whatsapp_cloud": {"en": "WhatsApp", "ar": "واتساب"},
                  "twilio_whatsapp": {"en": "WhatsApp (Twilio)", "ar": "واتساب (Twilio)"},
                  "instagram": {"en": "Instagram", "ar": "إنستغرام"},
                  "webchat": {"en": "Web chat", "ar": "محادثة الموقع"}}


def _identities(data: Dict[str, Any]) -> Tuple[str, List[Tuple[str, str]]]:
    person, raw = data.get("person"), data.get("identities")
    if not isinstance(person, str) or not person.strip() or len(person) > 128:
        raise DeskError("person must be the backend's customer id (1 to 128 characters)")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_IDENTITIES:
        raise DeskError(f"identities must be a list of 1 to {MAX_IDENTITIES} {{channel, id}} objects")
    found = []
    for item in raw:
        channel = item.get("channel") if isinstance(item, dict) else None
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(channel, str) or not isinstance(ident, str) or not ident or len(ident) > 200:
            raise DeskError("each identity needs a channel and an id (strings)")
        try:
            found.append((channel, sender_id(channel, ident)))
        except IdentityError:
            raise DeskError(f"{channel!r} is not a channel name") from None
    return person.strip(), found


async def _history(desk: "DeskApp", link: Link) -> Dict[str, Any]:
    service = desk.service
    events = await service.trackers.events(link.sender)
    turns = transcript(PacketInputs(events=events), service.settings)[-RECENT_TURNS:]
    handoffs = await service.store.history(link.channel, link.sender, limit=10)
    return {"channel": link.channel, "label": CHANNEL_LABELS.get(link.channel, {"en": link.channel, "ar": link.channel}),
            "sender_id": link.sender, "source": link.source, "linked_at": link.linked_at.isoformat(),
            "handoffs": [{"id": h.public_id, "created_at": h.created_at.isoformat(), "reason": h.reason,
                          "resolution": h.resolution} for h in handoffs],
            "turns": [{"role": t.role, "text": t.text, "at": t.at.isoformat() if t.at else None} for t in turns]}


def register_links_api(bp: Blueprint, desk: "DeskApp", links: CustomerLinks) -> None:
    """Add the customer-link routes to ``bp``."""

    @bp.route(f"{PREFIX}/handoffs/<handoff_id>/linked-history", methods=["GET"])
    @api_route(desk, "handoffs:read")
    async def linked_history(_request: Request, caller: Caller, handoff_id: str) -> HTTPResponse:
        record = await desk.desk.get(caller.actor, handoff_id)
        found = await links.of(record.channel, record.customer)
        others = [link for link in found if (link.channel, link.sender) != (record.channel, record.customer)]
        return response.json({"linked": bool(found), "conversations": [await _history(desk, l) for l in others]})

    @bp.route(f"{PREFIX}/customer-links", methods=["POST"])
    @api_route(desk, LINK_SCOPE)
    async def link(request: Request, caller: Caller) -> HTTPResponse:
        if caller.integration is None:
            raise Forbidden("only the operator's backend (an integration token) links customers")
        person, identities = _identities(body(request))
        now = desk.now()
        for channel, conversation in identities:
            await links.link(channel, conversation, person, BACKEND, now)
        return response.json({"person": person, "linked": len(identities)})

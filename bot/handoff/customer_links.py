"""One customer across channels: which conversations (a WhatsApp number, an Instagram account,
a web chat) belong to the same person, so the desk shows all their histories.

A link is written only on proof, never on a customer's claim:

- **verification** (:func:`links_from_events`): a conversation that passed the one-time code
  (actions/verification.py) holds a sealed :class:`bot.identity.IdentityProof` for its own
  sender id; the proof names the operator's customer id, which becomes the person.  The
  code went to the line the customer typed and came back, so that line's WhatsApp
  conversation (Meta signs its wa_id) is the same person too;
- **the operator's backend** (``POST /api/v1/customer-links`` with an integration token of
  scope ``customers:link``, bot/agent_desk/links_api.py), which knows its customers.

A conversation belongs to at most one person (the primary key); a later proof moves it.
Rows: ``majlis_customer_link`` (Alembic revision 0008).  Conversations are named by Rasa's
sender id (``whatsapp_cloud:9715…``, ``instagram:1784…``), as handoffs and trackers are.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, List, Mapping, Optional, Sequence, Tuple

import sqlalchemy as sa

from bot.identity import IdentityError, channel_of, normalise_line, sender_id, unseal
from bot.storage.schema import customer_link
from bot.storage.table_store import TableStore

logger = logging.getLogger(__name__)

VERIFICATION = "verification"
BACKEND = "backend"
PROOF_SLOT = "verified_identity"
LINE_SLOT = "verification_line"
#: The channel whose conversations are named by the customer's phone line.
LINE_CHANNEL = "whatsapp_cloud"


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A conversation of a person: ``channel`` and Rasa's ``sender`` id, how it was linked and when."""

    channel: str
    sender: str
    person: str
    source: str
    linked_at: datetime


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class CustomerLinks(TableStore):
    """Reads and writes ``majlis_customer_link`` off the event loop."""

    async def link(self, channel: str, sender: str, person: str, source: str, at: datetime) -> None:
        """``sender`` (a conversation on ``channel``) belongs to ``person`` from now on."""
        await self._run(self._link, channel, sender, person, source, at)

    def _link(self, channel: str, sender: str, person: str, source: str, at: datetime) -> None:
        key = (customer_link.c.channel == channel, customer_link.c.customer == sender)
        values = {"person": person[:128], "source": source[:32], "linked_at": _naive(at)}
        with self.engine.begin() as conn:
            if conn.execute(customer_link.update().where(*key).values(**values)).rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(customer_link.insert().values(channel=channel, customer=sender, **values))
                except sa.exc.IntegrityError:  # another instance inserted it meanwhile: ours is the later word
                    conn.execute(customer_link.update().where(*key).values(**values))

    async def of(self, channel: str, sender: str) -> List[Link]:
        """Every conversation of the person ``sender`` belongs to, itself first ([] when unlinked)."""
        return await self._run(self._of, channel, sender)

    def _of(self, channel: str, sender: str) -> List[Link]:
        with self.engine.connect() as conn:
            person = conn.execute(sa.select(customer_link.c.person).where(
                customer_link.c.channel == channel, customer_link.c.customer == sender)).scalar()
            if person is None:
                return []
            rows = conn.execute(sa.select(customer_link).where(customer_link.c.person == person)
                                .order_by(customer_link.c.linked_at)).all()
        links = [Link(channel=r.channel, sender=r.customer, person=r.person, source=r.source,
                      linked_at=r.linked_at.replace(tzinfo=timezone.utc)) for r in rows]
        return sorted(links, key=lambda link: (link.channel, link.sender) != (channel, sender))


def _slot(events: Sequence[Mapping[str, Any]], name: str) -> Tuple[Any, int]:
    """The last value set for slot ``name`` and its position (-1: never set)."""
    for position in range(len(events) - 1, -1, -1):
        event = events[position]
        if event.get("event") == "slot" and event.get("name") == name:
            return event.get("value"), position
    return None, -1


def _verified_line(events: Sequence[Mapping[str, Any]], before: int) -> Optional[str]:
    """The line the code was sent to: the last one set before the proof (it is reset afterwards)."""
    for event in reversed(events[:before]):
        if event.get("event") == "slot" and event.get("name") == LINE_SLOT and event.get("value"):
            return normalise_line(str(event["value"]))
    return None


def proven_links(sender: str, events: Sequence[Mapping[str, Any]]) -> List[Tuple[str, str, str]]:
    """(channel, sender, person) the conversation's own verification proves; [] without a valid proof."""
    sealed, position = _slot(events, PROOF_SLOT)
    proof = unseal(sealed, sender) if sealed else None
    if proof is None:
        return []
    try:
        found = [(channel_of(sender), sender, proof.customer_id)]
    except IdentityError:
        return []
    line = _verified_line(events, position)
    if line:
        found.append((LINE_CHANNEL, sender_id(LINE_CHANNEL, line), proof.customer_id))
    return found


async def links_from_events(links: CustomerLinks, sender: str, events: Sequence[Mapping[str, Any]],
                            at: datetime) -> int:
    """Write what a conversation's verification proves; how many links were written."""
    found = proven_links(sender, events)
    for channel, conversation, person in found:
        await links.link(channel, conversation, person, VERIFICATION, at)
    if found:
        logger.info("Verification linked %d conversation(s) to one customer", len(found))
    return len(found)


async def links_from_turn(links: CustomerLinks, tracker: Any, at: datetime) -> int:
    """:func:`links_from_events` when this turn set the proof: what the handoff gate calls after
    each turn.  Only this turn's events are looked at first (no copy of a long conversation on
    every message), and a verified conversation is not written again on every later message."""
    for event in reversed(tracker.events):
        kind = getattr(event, "type_name", "")
        if kind == "user":
            return 0
        if kind == "slot" and getattr(event, "key", None) == PROOF_SLOT:
            break
    else:
        return 0
    return await links_from_events(links, tracker.sender_id, [e.as_dict() for e in tracker.events], at)

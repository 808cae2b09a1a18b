"""Offering queued handoffs to available agents, and watching reply windows.

One :class:`Assigner` per process.  It listens to the handoff event hub: after every
change (a new or released handoff, a claim, a close, an answer to an offer, an agent
coming back) and whenever an offer's time is up, it runs :meth:`Assigner.step`:

1. offers whose time is up expire (the agent is passed over for this round);
2. open offers of handoffs that are no longer queued are withdrawn;
3. every queued handoff without an open offer, in a queue with auto-assignment on,
   is offered to one agent (:func:`choose`), in queue order;
4. reply windows are read again (every ``check_seconds``, and at once for a handoff
   whose customer wrote), and a window closing within ``escalate_minutes`` is
   escalated to supervisors once (``handoff.window_escalated``).

Everything is stored first (bot.handoff.assignment_store), so offers survive a
restart: :meth:`Assigner.start` picks up the open offers and their deadlines from
the database.  Several processes may run it: the database decides every race.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Set

from bot.handoff.assignment_store import AssignmentStore, Candidate, Offer
from bot.handoff.desk import Actor, Conflict, DeskOperations, NotFound
from bot.handoff.records import EventRecord, HandoffRecord
from bot.handoff.service import HandoffService
from bot.handoff.window_store import WindowStore

logger = logging.getLogger(__name__)

#: Hub events that change nothing for offers (delivery ticks are published as dicts with this type).
QUIET = frozenset({"handoff.delivery", "handoff.message", "handoff.note_message", "handoff.system_message",
                   "handoff.offered", "handoff.window_escalated", "handoff.rated"})
#: Events after which a handoff's reply window is read again at once.
WINDOW_MOVES = frozenset({"handoff.created", "handoff.customer_message", "handoff.reaction_message"})
_EARLIEST = datetime.min.replace(tzinfo=timezone.utc)


def choose(record: HandoffRecord, candidates: Sequence[Candidate], passed_over: Set[int],
           default_capacity: int) -> Optional[Candidate]:
    """The agent to offer ``record`` to, or None.

    Eligible: not a trainer, serves the handoff's queue and language, below capacity,
    and did not decline or let an offer of it expire this round.  Among them: those who
    read the conversation's dialect first, then the fewest open conversations, then the
    one offered something longest ago (round robin), then the lowest id.
    """
    eligible = [c for c in candidates
                if c.actor.role != "trainer" and c.actor.serves(record.queue, record.language)
                and c.actor.id not in passed_over
                and c.load < (c.capacity if c.capacity is not None else default_capacity)]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (not c.actor.reads(record), c.load, c.last_offered_at or _EARLIEST,
                                        c.actor.id))


class Assigner:
    """Makes offers, expires them, lets agents answer, escalates closing windows.

    Args:
        service: the handoff service (store, registry, hub, clock, settings).
        store: presence, capacity, queue switches, offers.
        desk: the agent operations (an accepted offer is a claim).
        windows: the reply windows of open handoffs.
    """

    def __init__(self, service: HandoffService, store: AssignmentStore, desk: DeskOperations,
                 windows: WindowStore) -> None:
        self.service, self.store, self.desk, self.windows = service, store, desk, windows
        self.settings = service.settings.assignment
        self._task: Optional[asyncio.Task] = None
        self._lock = asyncio.Lock()
        self._windows_read_at: Optional[datetime] = None

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        """Re-arm stored offers (expire the overdue ones) and start listening."""
        subscription = self.service.hub.subscribe()
        await self.step(read_windows=True)
        self._task = asyncio.get_running_loop().create_task(self._listen(subscription))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def wake(self, reason: str) -> None:
        """Something outside the event log changed (availability, a queue switch): look again."""
        self.service.hub.publish({"type": reason, "handoff_id": None})

    async def _next_deadline(self) -> float:
        """Seconds until the next offer expires or windows are due to be read."""
        now = self.service.clock()
        waits = [self.settings.check_seconds]
        for offer in await self.store.offers():
            waits.append((offer.expires_at - now).total_seconds())
        return max(0.05, min(waits))

    async def _listen(self, subscription: Any) -> None:
        hub = self.service.hub
        while True:
            try:
                event = await subscription.next(await self._next_deadline())
                events = [event] if event is not None else []
                while not subscription.queue.empty():
                    events.append(subscription.queue.get_nowait())
                if subscription.overflowed and not hub.closed:
                    hub.unsubscribe(subscription)
                    subscription = hub.subscribe()
                    await self.step(read_windows=True)
                    continue
                if hub.closed:
                    return
                await self.step(events=events)
            except asyncio.CancelledError:
                hub.unsubscribe(subscription)
                raise
            except Exception:  # the loop must survive a database hiccup
                logger.exception("Assignment step failed; trying again")
                await asyncio.sleep(1.0)

    # -- one pass ------------------------------------------------------------

    async def step(self, events: Sequence[Any] = (), read_windows: bool = False) -> int:
        """Expire, withdraw, offer, read windows; returns how many offers were made."""
        kinds = [(_kind(e), _handoff_of(e)) for e in events]
        if kinds and all(kind in QUIET for kind, _ in kinds) and not self._windows_due():
            return 0
        async with self._lock:
            now = self.service.clock()
            changed = False
            for offer in await self.store.expire_due(now):
                changed = True
                await self._log(offer, "handoff.offer_expired", now)
                logger.info("Offer %d of handoff #%d to agent %d expired", offer.id, offer.handoff_id, offer.agent_id)
            await self.store.withdraw_stale(now)
            moved = {public_id for kind, public_id in kinds if kind in WINDOW_MOVES and public_id}
            if read_windows or self._windows_due() or moved:
                changed = await self.read_windows(now, None if read_windows or self._windows_due() else moved) \
                    or changed
            made = await self._offer_waiting(now)
            if changed or made:
                await self.service.flush_events()
            return made

    async def _offer_waiting(self, now: datetime) -> int:
        waiting = await self.store.waiting_for_offer()
        if not waiting:
            return 0
        switches = await self.store.auto_assign(self.service.settings.queues, self.settings.auto_assign)
        candidates = await self.store.candidates()
        made = 0
        for record in waiting:
            if not any(self._has_room(c) for c in candidates):
                break  # everyone available is full: the rest of the queue waits (no query per handoff)
            if not switches.get(record.queue, self.settings.auto_assign):
                continue
            chosen = choose(record, candidates, await self.store.passed_over(record.id),
                            self.settings.default_capacity)
            if chosen is None:
                continue
            offer = await self.store.create_offer(record.id, chosen.actor.id, now,
                                                  now + timedelta(seconds=self.settings.offer_timeout))
            if offer is None:
                continue
            made += 1
            candidates = [Candidate(actor=c.actor, load=c.load + 1, capacity=c.capacity, last_offered_at=now)
                          if c.actor.id == chosen.actor.id else c for c in candidates]
            await self.service.store.add_event(record, "handoff.offered",
                                               {"offer_id": offer.id, "agent_id": offer.agent_id,
                                                "expires_at": offer.expires_at.isoformat(), "queue": record.queue},
                                               now)
            logger.info("Handoff %s offered to agent %d (offer %d)", record.public_id, offer.agent_id, offer.id)
        return made

    def _has_room(self, candidate: Candidate) -> bool:
        capacity = candidate.capacity if candidate.capacity is not None else self.settings.default_capacity
        return candidate.actor.role != "trainer" and candidate.load < capacity

    async def _log(self, offer: Offer, kind: str, now: datetime) -> None:
        record = await self.service.store.get_by_id(offer.handoff_id)
        if record is not None:
            await self.service.store.add_event(record, kind, {"offer_id": offer.id, "agent_id": offer.agent_id}, now)

    # -- agents answer -------------------------------------------------------

    async def accept(self, actor: Actor, offer_id: int) -> HandoffRecord:
        """Take the offered conversation (a claim).

        Raises:
            NotFound: no such offer of this agent.
            Conflict: the offer timed out, was withdrawn or answered, or someone else took the handoff.
        """
        offer = await self._own_offer(actor, offer_id)
        answered = await self.store.answer(offer.id, actor.id, "accepted", self.service.clock())
        if answered is None:
            raise Conflict("this offer is not open any more (it timed out or was withdrawn)")
        record = await self.service.store.get_by_id(offer.handoff_id)
        assert record is not None
        logger.info("Offer %d accepted by agent %d", offer.id, actor.id)
        return await self.desk.claim(actor, record.public_id)

    async def decline(self, actor: Actor, offer_id: int) -> None:
        """Pass: the next agent is offered the handoff.

        Raises:
            NotFound, Conflict: as :meth:`accept`.
        """
        offer = await self._own_offer(actor, offer_id)
        now = self.service.clock()
        answered = await self.store.answer(offer.id, actor.id, "declined", now)
        if answered is None:
            raise Conflict("this offer is not open any more (it timed out or was withdrawn)")
        logger.info("Offer %d declined by agent %d", offer.id, actor.id)
        await self._log(answered, "handoff.offer_declined", now)
        await self.service.flush_events()

    async def set_available(self, agent_id: int, available: bool) -> None:
        """Available for offers, or away: an agent going away hands their open offers on at once."""
        now = self.service.clock()
        await self.store.set_available(agent_id, available, now)
        if not available:
            for offer in await self.store.withdraw_from(agent_id, now):
                logger.info("Offer %d withdrawn: agent %d went away", offer.id, agent_id)
        self.wake("agent.presence")

    async def _own_offer(self, actor: Actor, offer_id: int) -> Offer:
        offer = await self.store.offer(offer_id)
        if offer is None or offer.agent_id != actor.id:
            raise NotFound("no such offer")
        return offer

    async def open_offers(self, actor: Actor) -> List[Dict[str, Any]]:
        """The actor's open offers with their handoffs (for the desk after a reload)."""
        found = []
        for offer in await self.store.offers(agent_id=actor.id):
            record = await self.service.store.get_by_id(offer.handoff_id)
            if record is not None:
                found.append({"offer": offer, "handoff": record})
        return found

    # -- reply windows -------------------------------------------------------

    def _windows_due(self) -> bool:
        last = self._windows_read_at
        return last is None or (self.service.clock() - last).total_seconds() >= self.settings.check_seconds

    async def read_windows(self, now: datetime, only: Optional[Set[str]] = None) -> bool:
        """Read the reply window of open handoffs (``only``: these public ids); escalate closing ones.

        Returns whether an escalation was logged.
        """
        if only is None:
            self._windows_read_at = now
        escalated = False
        limit = timedelta(minutes=self.settings.escalate_minutes)
        registry = self.service.registry
        for record in await self.windows.open_handoffs():
            if only is not None and record.public_id not in only:
                continue
            expires = await registry.window_expires_at(record.channel, record.account, record.customer)
            mark = await self.windows.set_window(record.id, expires, now)
            if expires is None or mark.escalated_at is not None or expires - now > limit:
                continue
            if await self.windows.mark_escalated(record.id, now):
                escalated = True
                left = max(0, int((expires - now).total_seconds() // 60))
                await self.service.store.add_event(record, "handoff.window_escalated",
                                                   {"expires_at": expires.isoformat(), "minutes_left": left,
                                                    "queue": record.queue, "agent_id": record.agent_id}, now)
                logger.info("Handoff %s escalated: its reply window closes in %d min", record.public_id, left)
        return escalated


def _kind(event: Any) -> str:
    if isinstance(event, EventRecord):
        return event.type
    return str(event.get("type") if isinstance(event, dict) else "")


def _handoff_of(event: Any) -> Optional[str]:
    if isinstance(event, EventRecord):
        return event.payload.get("handoff_id")
    return event.get("handoff_id") if isinstance(event, dict) else None


__all__ = ["Assigner", "choose"]

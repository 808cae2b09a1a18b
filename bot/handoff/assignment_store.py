"""SQL of assignment: presence and capacity, per-queue switches, offers.

Races are decided by the database, as in :mod:`bot.handoff.store`: an offer is open
while its ``open_key`` (the handoff id) is set, and a unique constraint on that column
allows one open offer per handoff; accepting, declining, expiring and withdrawing are
each one conditional ``UPDATE ... WHERE state = 'open'``, so exactly one of them wins,
and accepting also requires ``expires_at > now`` (a late accept fails even before the
timer has fired).  Reply windows: bot.handoff.window_store.  Tables: Alembic revision
0004 (bot/storage/alembic/versions).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor
from bot.handoff.records import HandoffRecord, from_db, to_db
from bot.handoff.store import SqlStore
from bot.handoff.window_store import window_order
from bot.storage.schema import (agent, agent_presence, handoff, handoff_event, handoff_offer, handoff_window,
                                queue_setting)

OPEN = "open"
ANSWERS = ("accepted", "declined")
Q, A = OwnerState.QUEUED.value, OwnerState.ASSIGNED.value
#: Events after which a queued handoff starts a new round of offers (earlier refusals no longer count).
ROUND_STARTS = ("handoff.created", "handoff.released", "handoff.transferred")


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    id: int
    handoff_id: int
    agent_id: int
    state: str
    created_at: datetime
    expires_at: datetime
    answered_at: Optional[datetime] = None

    @classmethod
    def from_row(cls, row: Any) -> "Offer":
        return cls(id=row.id, handoff_id=row.handoff_id, agent_id=row.agent_id, state=row.state,
                   created_at=from_db(row.created_at), expires_at=from_db(row.expires_at),
                   answered_at=from_db(row.answered_at))


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence:
    """Whether an agent takes offers, and how many conversations at once (None: the default)."""

    agent_id: int
    available: bool = False
    capacity: Optional[int] = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An available agent and what they hold now (assigned conversations plus open offers)."""

    actor: Actor
    load: int
    capacity: Optional[int]
    last_offered_at: Optional[datetime]


def _split(value: str) -> frozenset:
    return frozenset(part.strip() for part in (value or "").split(",") if part.strip())


def _load_counts() -> Tuple[Any, Any]:
    """Per agent: assigned handoffs, and open offers (subqueries with ``agent_id`` and ``n``)."""
    assigned = sa.select(handoff.c.agent_id, sa.func.count().label("n")).where(
        handoff.c.state == A).group_by(handoff.c.agent_id).subquery()
    offered = sa.select(handoff_offer.c.agent_id, sa.func.count().label("n")).where(
        handoff_offer.c.state == OPEN).group_by(handoff_offer.c.agent_id).subquery()
    return assigned, offered


class AssignmentStore(SqlStore):
    """Presence, capacity, auto-assignment switches and offers."""

    # -- presence and capacity ---------------------------------------------

    def _upsert(self, conn: Connection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        where = [table.c[name] == value for name, value in key.items()]
        if conn.execute(sa.update(table).where(*where).values(**values)).rowcount == 0:
            conn.execute(table.insert().values(**key, **values))

    def _write(self, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]) -> None:
        try:
            with self.engine.begin() as conn:
                self._upsert(conn, table, key, values)
        except IntegrityError:  # another process inserted the row first: update it
            with self.engine.begin() as conn:
                self._upsert(conn, table, key, values)

    def set_capacity_now(self, agent_id: int, capacity: Optional[int], now: datetime) -> None:
        """Set an agent's capacity (None: the default); synchronous, for the users CLI.

        Raises:
            ValueError: a negative capacity.
        """
        if capacity is not None and capacity < 0:
            raise ValueError("capacity must be 0 or more")
        self._write(agent_presence, {"agent_id": agent_id}, {"capacity": capacity, "updated_at": to_db(now)})

    async def set_capacity(self, agent_id: int, capacity: Optional[int], now: datetime) -> None:
        """As :meth:`set_capacity_now`, off the event loop (the supervisor page)."""
        await self._run(self.set_capacity_now, agent_id, capacity, now)

    def presences_now(self) -> Dict[int, Presence]:
        with self.engine.connect() as conn:
            return {row.agent_id: Presence(agent_id=row.agent_id, available=bool(row.available),
                                           capacity=row.capacity)
                    for row in conn.execute(sa.select(agent_presence))}

    async def presences(self) -> Dict[int, Presence]:
        return await self._run(self.presences_now)

    async def presence(self, agent_id: int) -> Presence:
        return (await self.presences()).get(agent_id) or Presence(agent_id=agent_id)

    async def set_available(self, agent_id: int, available: bool, now: datetime) -> Presence:
        await self._run(self._write, agent_presence, {"agent_id": agent_id},
                        {"available": available, "updated_at": to_db(now)})
        return await self.presence(agent_id)

    async def candidates(self) -> List[Candidate]:
        """Active, available accounts with their load: assigned handoffs plus open offers."""
        def run() -> List[Candidate]:
            assigned, offered = _load_counts()
            query = (sa.select(agent, agent_presence.c.capacity, agent_presence.c.last_offered_at,
                               sa.func.coalesce(assigned.c.n, 0).label("assigned"),
                               sa.func.coalesce(offered.c.n, 0).label("offered"))
                     .join(agent_presence, agent_presence.c.agent_id == agent.c.id)
                     .outerjoin(assigned, assigned.c.agent_id == agent.c.id)
                     .outerjoin(offered, offered.c.agent_id == agent.c.id)
                     .where(agent.c.active.is_(True), agent_presence.c.available.is_(True)))
            with self.engine.connect() as conn:
                return [Candidate(actor=Actor(id=row.id, name=row.display_name, role=row.role,
                                              languages=_split(row.languages), queues=_split(row.queues)),
                                  load=int(row.assigned) + int(row.offered), capacity=row.capacity,
                                  last_offered_at=from_db(row.last_offered_at))
                        for row in conn.execute(query)]
        return await self._run(run)

    async def loads(self) -> Dict[int, int]:
        """Every agent's open conversations (assigned plus open offers), available or not."""
        def run() -> Dict[int, int]:
            found: Dict[int, int] = {}
            with self.engine.connect() as conn:
                for table in _load_counts():
                    for row in conn.execute(sa.select(table.c.agent_id, table.c.n)):
                        if row.agent_id is not None:
                            found[row.agent_id] = found.get(row.agent_id, 0) + int(row.n)
            return found
        return await self._run(run)

    # -- auto-assignment per queue -----------------------------------------

    async def auto_assign(self, queues: Iterable[str], default: bool) -> Dict[str, bool]:
        """Whether each queue offers its handoffs (``default`` until a supervisor switched it)."""
        def run() -> Dict[str, bool]:
            with self.engine.connect() as conn:
                stored = {row.queue: bool(row.auto_assign) for row in conn.execute(sa.select(queue_setting))}
            return {queue: stored.get(queue, default) for queue in queues}
        return await self._run(run)

    async def set_auto_assign(self, queue: str, on: bool, by_agent: int, now: datetime) -> None:
        await self._run(self._write, queue_setting, {"queue": queue},
                        {"auto_assign": on, "updated_by": by_agent, "updated_at": to_db(now)})

    # -- offers ------------------------------------------------------------

    async def create_offer(self, handoff_id: int, agent_id: int, now: datetime,
                           expires_at: datetime) -> Optional[Offer]:
        """Offer a queued handoff to an agent; None when it has an open offer or is not queued any more."""
        def run() -> Optional[Offer]:
            try:
                with self.engine.begin() as conn:
                    queued = conn.execute(sa.select(handoff.c.id).where(
                        handoff.c.id == handoff_id, handoff.c.state == Q)).first()
                    if queued is None:
                        return None
                    new_id = conn.execute(handoff_offer.insert().values(
                        handoff_id=handoff_id, agent_id=agent_id, state=OPEN, open_key=handoff_id,
                        created_at=to_db(now), expires_at=to_db(expires_at))).inserted_primary_key[0]
                    conn.execute(sa.update(agent_presence).where(agent_presence.c.agent_id == agent_id)
                                 .values(last_offered_at=to_db(now)))
                    return Offer.from_row(conn.execute(
                        sa.select(handoff_offer).where(handoff_offer.c.id == new_id)).one())
            except IntegrityError:  # another offer of this handoff is open (another process was faster)
                return None
        return await self._run(run)

    def _close(self, conn: Connection, where: Sequence[Any], state: str, now: datetime) -> List[Offer]:
        """Close the open offers matching ``where``; returns those this call closed."""
        found = [Offer.from_row(r) for r in conn.execute(
            sa.select(handoff_offer).where(handoff_offer.c.state == OPEN, *where))]
        closed = []
        for offer in found:
            done = conn.execute(sa.update(handoff_offer).where(
                handoff_offer.c.id == offer.id, handoff_offer.c.state == OPEN).values(
                state=state, open_key=None, answered_at=to_db(now))).rowcount
            if done:
                closed.append(Offer(id=offer.id, handoff_id=offer.handoff_id, agent_id=offer.agent_id, state=state,
                                    created_at=offer.created_at, expires_at=offer.expires_at, answered_at=now))
        return closed

    async def answer(self, offer_id: int, agent_id: int, answer: str, now: datetime) -> Optional[Offer]:
        """The agent accepts or declines their open offer; None when it is not open (or timed out)."""
        if answer not in ANSWERS:
            raise ValueError(f"answer must be one of {ANSWERS}")

        def run() -> Optional[Offer]:
            with self.engine.begin() as conn:
                closed = self._close(conn, [handoff_offer.c.id == offer_id, handoff_offer.c.agent_id == agent_id,
                                            handoff_offer.c.expires_at > to_db(now)], answer, now)
            return closed[0] if closed else None
        return await self._run(run)

    async def expire_due(self, now: datetime) -> List[Offer]:
        """Open offers whose time is up become ``expired``."""
        def run() -> List[Offer]:
            with self.engine.begin() as conn:
                return self._close(conn, [handoff_offer.c.expires_at <= to_db(now)], "expired", now)
        return await self._run(run)

    async def withdraw_stale(self, now: datetime) -> List[Offer]:
        """Open offers of handoffs no longer queued (claimed by hand, moved, closed) are withdrawn."""
        def run() -> List[Offer]:
            gone = sa.select(handoff.c.id).where(handoff.c.state != Q)
            with self.engine.begin() as conn:
                return self._close(conn, [handoff_offer.c.handoff_id.in_(gone)], "withdrawn", now)
        return await self._run(run)

    async def withdraw_from(self, agent_id: int, now: datetime) -> List[Offer]:
        """Open offers of an agent who went away are withdrawn (not a refusal: they may be offered it again)."""
        def run() -> List[Offer]:
            with self.engine.begin() as conn:
                return self._close(conn, [handoff_offer.c.agent_id == agent_id], "withdrawn", now)
        return await self._run(run)

    async def offers(self, *, agent_id: Optional[int] = None, only_open: bool = True) -> List[Offer]:
        def run() -> List[Offer]:
            query = sa.select(handoff_offer).order_by(handoff_offer.c.id)
            if only_open:
                query = query.where(handoff_offer.c.state == OPEN)
            if agent_id is not None:
                query = query.where(handoff_offer.c.agent_id == agent_id)
            with self.engine.connect() as conn:
                return [Offer.from_row(r) for r in conn.execute(query)]
        return await self._run(run)

    async def offer(self, offer_id: int) -> Optional[Offer]:
        def run() -> Optional[Offer]:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(handoff_offer).where(handoff_offer.c.id == offer_id)).first()
            return Offer.from_row(row) if row else None
        return await self._run(run)

    async def passed_over(self, handoff_id: int) -> Set[int]:
        """Agents not to offer this handoff to in its current round: those who declined or let an
        offer of it expire, and, after a release, the agent who released it (it is someone else's turn)."""
        def run() -> Set[int]:
            events = handoff_event.c
            with self.engine.connect() as conn:
                start = conn.execute(sa.select(events.id, events.type, events.created_at).where(
                    events.handoff_id == handoff_id, events.type.in_(ROUND_STARTS)).order_by(events.id.desc())).first()
                query = sa.select(handoff_offer.c.agent_id).where(
                    handoff_offer.c.handoff_id == handoff_id, handoff_offer.c.state.in_(["declined", "expired"]))
                if start is not None:
                    query = query.where(handoff_offer.c.created_at >= start.created_at)
                passed = set(conn.execute(query).scalars())
                if start is not None and start.type == "handoff.released":
                    held = conn.execute(sa.select(events.payload).where(
                        events.handoff_id == handoff_id, events.id < start.id,
                        events.type.in_(["handoff.claimed", "handoff.transferred"])).order_by(events.id.desc())).first()
                    holder = json.loads(held.payload).get("agent_id") if held is not None else None
                    if holder is not None:
                        passed.add(int(holder))
            return passed
        return await self._run(run)

    async def waiting_for_offer(self, limit: int = 500) -> List[HandoffRecord]:
        """Queued handoffs without an open offer, in queue order (priority, reply window, waiting time)."""
        def run() -> List[HandoffRecord]:
            open_offer = handoff_offer.c.open_key == handoff.c.id
            query = (sa.select(handoff).outerjoin(handoff_offer, open_offer)
                     .outerjoin(handoff_window, handoff_window.c.handoff_id == handoff.c.id)
                     .where(handoff.c.state == Q, handoff_offer.c.id.is_(None))
                     .order_by(*window_order()).limit(limit))
            with self.engine.connect() as conn:
                return [HandoffRecord.from_row(r) for r in conn.execute(query)]
        return await self._run(run)

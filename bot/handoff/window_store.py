"""SQL of the window-aware queue: each open handoff's reply window, escalations, and queue pages
ordered by priority, then the window closing soonest.

The window is read from the delivery layer (bot.handoff.outbound.ChannelRegistry.window_expires_at)
by bot.handoff.assignment and kept here, so the queue can be ordered by it in SQL.
Table: ``majlis_handoff_window`` (Alembic revision 0004, bot/storage/alembic/versions).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.handoff.context import OwnerState
from bot.handoff.records import HandoffRecord, from_db, to_db
from bot.handoff.store import QueueFilter, SqlStore, view_clauses
from bot.storage.schema import handoff, handoff_window

Q, A = OwnerState.QUEUED.value, OwnerState.ASSIGNED.value


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowMark:
    """A handoff's reply window as last read, and whether supervisors were told it is closing."""

    expires_at: Optional[datetime]
    escalated_at: Optional[datetime] = None


def window_order() -> List[Any]:
    """Priority first, then the reply window closing soonest (no window last), then waiting time."""
    return [handoff.c.priority.desc(), sa.case((handoff_window.c.expires_at.is_(None), 1), else_=0),
            handoff_window.c.expires_at, handoff.c.created_at, handoff.c.id]


class WindowStore(SqlStore):
    """Reply windows of open handoffs, and queue pages ordered by them."""

    def _upsert(self, conn: Any, key: int, values: Dict[str, Any]) -> None:
        where = handoff_window.c.handoff_id == key
        if conn.execute(sa.update(handoff_window).where(where).values(**values)).rowcount == 0:
            conn.execute(handoff_window.insert().values(handoff_id=key, **values))

    async def open_handoffs(self) -> List[HandoffRecord]:
        def run() -> List[HandoffRecord]:
            with self.engine.connect() as conn:
                return [HandoffRecord.from_row(r) for r in conn.execute(
                    sa.select(handoff).where(handoff.c.state.in_([Q, A])).order_by(handoff.c.id))]
        return await self._run(run)

    async def set_window(self, handoff_id: int, expires_at: Optional[datetime], now: datetime) -> WindowMark:
        """Record a handoff's window; a window that moved (the customer wrote again) may be escalated again."""
        def write() -> WindowMark:
            with self.engine.begin() as conn:
                row = conn.execute(sa.select(handoff_window).where(handoff_window.c.handoff_id == handoff_id)).first()
                escalated = row.escalated_at if row is not None and row.expires_at == to_db(expires_at) else None
                self._upsert(conn, handoff_id, {"expires_at": to_db(expires_at), "escalated_at": escalated,
                                                "checked_at": to_db(now)})
            return WindowMark(expires_at=expires_at, escalated_at=from_db(escalated))

        def run() -> WindowMark:
            try:
                return write()
            except IntegrityError:  # another process inserted the row first: read and update it
                return write()
        return await self._run(run)

    async def mark_escalated(self, handoff_id: int, now: datetime) -> bool:
        """True for the one call that marks the window escalated (once per window)."""
        def run() -> bool:
            with self.engine.begin() as conn:
                return conn.execute(sa.update(handoff_window).where(
                    handoff_window.c.handoff_id == handoff_id, handoff_window.c.escalated_at.is_(None)).values(
                    escalated_at=to_db(now))).rowcount == 1
        return await self._run(run)

    async def windows(self, handoff_ids: Sequence[int]) -> Dict[int, WindowMark]:
        if not handoff_ids:
            return {}

        def run() -> Dict[int, WindowMark]:
            query = sa.select(handoff_window).where(handoff_window.c.handoff_id.in_(list(handoff_ids)))
            with self.engine.connect() as conn:
                return {row.handoff_id: WindowMark(expires_at=from_db(row.expires_at),
                                                   escalated_at=from_db(row.escalated_at))
                        for row in conn.execute(query)}
        return await self._run(run)

    async def page(self, *, states: Sequence[OwnerState], served: Optional[QueueFilter], offset: int, limit: int,
                   queue: Optional[str] = None, agent_id: Optional[int] = None) -> Tuple[List[HandoffRecord], int]:
        """:meth:`bot.handoff.store.HandoffStore.page`, ordered by priority, then the window closing soonest."""
        def run() -> Tuple[List[HandoffRecord], int]:
            where = view_clauses(states, served, queue, agent_id)
            rows = (sa.select(handoff).outerjoin(handoff_window, handoff_window.c.handoff_id == handoff.c.id)
                    .where(*where).order_by(*window_order()).offset(offset).limit(limit))
            total = sa.select(sa.func.count()).select_from(handoff).where(*where)
            with self.engine.connect() as conn:
                return [HandoffRecord.from_row(r) for r in conn.execute(rows)], int(conn.execute(total).scalar() or 0)
        return await self._run(run)

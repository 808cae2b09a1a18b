"""Who answers a conversation: the bot, or a person who took over from the Instagram inbox.

An echo of a message the bot did not send means someone answered from the
Instagram app or the Meta Business inbox.  From then on the bot stays silent for
that customer until the takeover is released (by the agent desk, or
:meth:`TakeoverStore.release`).  The table has a ``channel`` column so the
handoff work can reuse it for every channel.

The table is created on first use (``checkfirst``); it belongs in
``bot.storage.migrations`` once the storage owner adds it there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional, TypeVar

import sqlalchemy as sa

from bot.storage.table_store import TableStore


T = TypeVar("T")


def _naive_utc(value: datetime) -> datetime:
    """Stored as naive UTC (SQLite keeps no zone), like every Majlis table."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return None if value is None else value.replace(tzinfo=timezone.utc)

HUMAN = "human"
RELEASED = "released"

metadata = sa.MetaData()

takeover = sa.Table(
    "majlis_takeover",
    metadata,
    sa.Column("channel", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(128), primary_key=True),
    sa.Column("customer", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
    sa.Column("released_at", sa.DateTime, nullable=True),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Takeover:
    """A conversation's owner record.

    Attributes:
        state: ``"human"`` (bot silent) or ``"released"`` (bot answers again).
        reason: why a person owns it (``"instagram_inbox_echo"``, ``"agent_desk"``).
        since: when it was taken over.
        released_at: when it was handed back, if it was.
    """

    channel: str
    account: str
    customer: str
    state: str
    reason: str
    since: datetime
    released_at: Optional[datetime] = None

    @property
    def active(self) -> bool:
        return self.state == HUMAN


class TakeoverStore(TableStore):
    """Reads and writes ``majlis_takeover`` without blocking the event loop.

    Args:
        engine: from :func:`bot.storage.get_engine` (the delivery store's engine).
        executor: where database calls run; pass the delivery store's, so calls on one
            SQLite connection never overlap (default: the loop's thread pool).
    """

    metadata = metadata

    async def get(self, channel: str, account: str, customer: str) -> Optional[Takeover]:
        """The record of one conversation, if it was ever taken over."""
        return await self._run(self._get, channel, account, customer)

    def _get(self, channel: str, account: str, customer: str) -> Optional[Takeover]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(takeover).where(
                takeover.c.channel == channel, takeover.c.account == account, takeover.c.customer == customer,
            )).first()
        if row is None:
            return None
        return Takeover(channel=row.channel, account=row.account, customer=row.customer, state=row.state,
                        reason=row.reason, since=_aware(row.since), released_at=_aware(row.released_at))

    async def is_human(self, channel: str, account: str, customer: str) -> bool:
        """True while a person owns the conversation (the bot must not answer)."""
        record = await self.get(channel, account, customer)
        return record is not None and record.active

    async def take_over(self, channel: str, account: str, customer: str, reason: str, at: datetime) -> bool:
        """Mark the conversation as a person's; False if it already was."""
        return await self._run(self._set, channel, account, customer, HUMAN, reason, at)

    async def release(self, channel: str, account: str, customer: str, at: datetime) -> bool:
        """Hand the conversation back to the bot; False if no person owned it."""
        return await self._run(self._set, channel, account, customer, RELEASED, "", at)

    def _set(self, channel: str, account: str, customer: str, state: str, reason: str, at: datetime) -> bool:
        key = (takeover.c.channel == channel, takeover.c.account == account, takeover.c.customer == customer)
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(takeover.c.state).where(*key)).first()
            if state == HUMAN:
                if row is not None and row.state == HUMAN:
                    return False
                values = {"state": HUMAN, "reason": reason[:64], "since": _naive_utc(at), "released_at": None}
                if row is None:
                    conn.execute(takeover.insert().values(channel=channel, account=account, customer=customer,
                                                          **values))
                else:
                    conn.execute(takeover.update().where(*key).values(**values))
                return True
            if row is None or row.state != HUMAN:
                return False
            conn.execute(takeover.update().where(*key).values(state=RELEASED, released_at=_naive_utc(at)))
            return True

"""Who answers a conversation: the bot, or a person who took over (``majlis_takeover``).

An echo of a message the bot did not send (Instagram) means someone answered from the
provider's own inbox; from then on the bot stays silent for that customer until the
takeover is released.  The table has a ``channel`` column, so every channel can use it.

Each change is one conditional ``UPDATE`` (or an insert that loses cleanly to a
concurrent one), so instances taking over or releasing the same conversation at once
agree on exactly one winner.  Implements :class:`bot.storage.ports.TakeoverStorage`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.storage.schema import takeover
from bot.storage.table_store import TableStore

HUMAN = "human"
RELEASED = "released"


def _naive_utc(value: datetime) -> datetime:
    """Stored as naive UTC (SQLite keeps no zone), like every Majlis table."""
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _aware(value: Optional[datetime]) -> Optional[datetime]:
    return None if value is None else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Takeover:
    """A conversation's owner record.

    Attributes:
        state: ``"human"`` (bot silent) or ``"released"`` (bot answers again).
        reason: why a person owns it (``"instagram_inbox_echo"``, ``"agent_desk"``).
        since: when it was taken over.
        released_at: when it was handed back, if it was.
        last_human_at: when a person last answered (a channel with a quiet time hands the
            conversation back once it has passed; None on records older than revision 0008).
    """

    channel: str
    account: str
    customer: str
    state: str
    reason: str
    since: datetime
    released_at: Optional[datetime] = None
    last_human_at: Optional[datetime] = None

    @property
    def active(self) -> bool:
        return self.state == HUMAN

    def quiet_for(self, quiet: timedelta, now: datetime) -> bool:
        """Whether no person answered for ``quiet`` (counted from the last answer, else the start)."""
        return (self.last_human_at or self.since) + quiet <= now


class TakeoverStore(TableStore):
    """Reads and writes ``majlis_takeover`` without blocking the event loop.

    Args:
        engine: from :func:`bot.storage.get_engine` (the delivery store's engine).
        executor: where database calls run; pass the delivery store's ``run_blocking``
            as ``run=`` so calls on one SQLite connection never overlap.
    """

    async def get(self, channel: str, account: str, customer: str) -> Optional[Takeover]:
        """The record of one conversation, if it was ever taken over."""
        return await self._run(self._get, channel, account, customer)

    def _get(self, channel: str, account: str, customer: str) -> Optional[Takeover]:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(takeover).where(*_key(channel, account, customer))).first()
        if row is None:
            return None
        return Takeover(channel=row.channel, account=row.account, customer=row.customer, state=row.state,
                        reason=row.reason, since=_aware(row.since), released_at=_aware(row.released_at),
                        last_human_at=_aware(row.last_human_at))

    async def is_human(self, channel: str, account: str, customer: str) -> bool:
        """True while a person owns the conversation (the bot must not answer)."""
        record = await self.get(channel, account, customer)
        return record is not None and record.active

    async def take_over(self, channel: str, account: str, customer: str, reason: str, at: datetime) -> bool:
        """Mark the conversation as a person's; False if it already was."""
        return await self._run(self._take_over, channel, account, customer, reason, at)

    def _take_over(self, channel: str, account: str, customer: str, reason: str, at: datetime) -> bool:
        key = _key(channel, account, customer)
        values = {"state": HUMAN, "reason": reason[:64], "since": _naive_utc(at), "released_at": None,
                  "last_human_at": _naive_utc(at)}
        with self.engine.begin() as conn:
            if conn.execute(takeover.update().where(*key, takeover.c.state != HUMAN).values(**values)).rowcount:
                return True
            return _insert_first(conn, channel, account, customer, values)

    async def answered(self, channel: str, account: str, customer: str, at: datetime) -> bool:
        """A person answered again in a conversation they own: its quiet time starts over.
        False if no person owns it."""
        return await self._run(self._answered, channel, account, customer, at)

    def _answered(self, channel: str, account: str, customer: str, at: datetime) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                takeover.update()
                .where(*_key(channel, account, customer), takeover.c.state == HUMAN)
                .values(last_human_at=_naive_utc(at))
            ).rowcount == 1

    async def release(self, channel: str, account: str, customer: str, at: datetime) -> bool:
        """Hand the conversation back to the bot; False if no person owned it."""
        return await self._run(self._release, channel, account, customer, at)

    def _release(self, channel: str, account: str, customer: str, at: datetime) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                takeover.update()
                .where(*_key(channel, account, customer), takeover.c.state == HUMAN)
                .values(state=RELEASED, released_at=_naive_utc(at))
            ).rowcount == 1


def _key(channel: str, account: str, customer: str) -> tuple:
    return (takeover.c.channel == channel, takeover.c.account == account, takeover.c.customer == customer)


def _insert_first(conn: Connection, channel: str, account: str, customer: str, values: dict) -> bool:
    """Insert the conversation's first record; False when it exists (a person owns it already)."""
    try:
        with conn.begin_nested():
            conn.execute(takeover.insert().values(channel=channel, account=account, customer=customer, **values))
    except IntegrityError:  # it existed (as human), or another instance inserted it meanwhile
        return False
    return True

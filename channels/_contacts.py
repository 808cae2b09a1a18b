"""How each conversation's customer is addressed, stored with the conversation.

A reply inside a dialogue turn is addressed from the message it answers.  Messages
outside a turn (an agent's reply from the desk, Rasa's proactive sends, a template
after the window closed) only know the conversation ``(channel, account, customer)``,
so the channel records, for every conversation, the kind of address its last
message came with: WhatsApp Cloud ``phone`` (``to``) or ``user_id`` (``recipient``),
Twilio ``whatsapp`` or ``sms``.  Nothing is inferred from how an id looks.

The table (``majlis_contact_address``) is created by the migrations (bot/storage/alembic).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.storage.schema import contact_address
from bot.storage.table_store import TableStore

def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


class ContactBook(TableStore):
    """``(channel, account, customer)`` → ``{"kind", "value"}`` of the latest message's address.

    Writes are skipped when this process already stored the same address (one insert
    per conversation in the common case, not one per message).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._known: Dict[Tuple[str, str, str], Tuple[str, str]] = {}

    async def remember(self, channel: str, account: str, customer: str, kind: str, address: str,
                       at: datetime) -> None:
        """Record how the conversation's customer is addressed now."""
        key, value = (channel, account, customer), (kind, address)
        if self._known.get(key) == value:
            return
        await self._run(self._upsert, key, value, _naive_utc(at))
        self._known[key] = value

    def _upsert(self, key: Tuple[str, str, str], value: Tuple[str, str], at: datetime) -> None:
        channel, account, customer = key
        where = (contact_address.c.channel == channel, contact_address.c.account == account,
                 contact_address.c.customer == customer)
        values = {"kind": value[0], "address": value[1], "updated_at": at}
        with self.engine.begin() as conn:
            if conn.execute(contact_address.update().where(*where).values(**values)).rowcount:
                return
            try:
                with conn.begin_nested():
                    conn.execute(contact_address.insert().values(channel=channel, account=account,
                                                                 customer=customer, **values))
            except IntegrityError:  # another process inserted it meanwhile: its row is as good
                conn.execute(contact_address.update().where(*where).values(**values))

    async def lookup(self, channel: str, customer: str, account: Optional[str] = None) -> Optional[Mapping[str, str]]:
        """``{"kind", "value"}`` for the conversation (any account: the latest), or None if never seen."""
        return await self._run(self._lookup, channel, customer, account)

    def _lookup(self, channel: str, customer: str, account: Optional[str]) -> Optional[Mapping[str, str]]:
        query = sa.select(contact_address.c.kind, contact_address.c.address).where(
            contact_address.c.channel == channel, contact_address.c.customer == customer)
        if account is not None:
            query = query.where(contact_address.c.account == account)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(contact_address.c.updated_at.desc()).limit(1)).first()
        return {"kind": row.kind, "value": row.address} if row else None

"""A person answering outside the desk: the bot stays silent for that customer.

Shared by the channels whose provider echoes what a person sends from its own app:
Instagram's inbox (an echo the bot did not send) and the WhatsApp Business app on a
coexistence number (``smb_message_echoes``).  The record is :mod:`bot.storage.takeover`
(race-safe across instances); this is the behaviour around it:

- an echo takes the conversation over (or, when a person already owns it, starts its
  quiet time over) and, with the agent desk attached, opens (or finds) a handoff;
- a customer message while a person owns it: with an open handoff it goes on to the
  handoff gate (the desk shows it, the bot stays silent); without a desk it is not run;
- the takeover ends when the handoff is closed in the desk (``release``) or, where the
  channel configures one, after a quiet time without a person's answer.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Optional

from bot.delivery.ports import TakeoverListener
from bot.storage.takeover import TakeoverStore

logger = logging.getLogger(__name__)


class EchoTakeover:
    """One channel's takeovers.

    Args:
        channel: the channel name (the record's ``channel``).
        store: the race-safe record.
        reason: why a person owns it (``instagram_inbox_echo``, ``whatsapp_phone_echo``);
            also the opened handoff's reason.
        clock: the current aware UTC time (the delivery's clock).
        quiet: hand back to the bot after this long without a person's answer (None: only
            when handed back).
    """

    def __init__(self, *, channel: str, store: TakeoverStore, reason: str, clock: Callable[[], datetime],
                 quiet: Optional[timedelta] = None) -> None:
        self.channel, self.store, self.reason, self.clock, self.quiet = channel, store, reason, clock, quiet
        self._handoff: Optional[TakeoverListener] = None

    def attach(self, listener: Optional[TakeoverListener]) -> None:
        """The desk's ``taken_over`` (see ``CustomerChannel.attach_handoff``)."""
        self._handoff = listener

    async def person_answered(self, account: str, customer: str) -> bool:
        """An echo a person sent: take over (True: it was the bot's until now)."""
        now = self.clock()
        taken = await self.store.take_over(self.channel, account, customer, self.reason, now)
        if not taken:
            await self.store.answered(self.channel, account, customer, now)
        await self.handoff_open(account, customer)
        return taken

    async def bot_silenced(self, account: str, customer: str) -> Optional[bool]:
        """Whether a customer message must not reach the bot at all.

        Returns:
            None: the bot owns the conversation (no takeover, released, or quiet long enough);
            False: a person owns it and a handoff is open: pass the message on, the handoff
            gate records it for the desk and keeps the bot silent;
            True: a person owns it and there is no desk: do not run the bot.
        """
        record = await self.store.get(self.channel, account, customer)
        if record is None or not record.active:
            return None
        if self.quiet is not None and record.quiet_for(self.quiet, self.clock()):
            if await self.store.release(self.channel, account, customer, self.clock()):
                logger.info("%s takeover ended after %s without a person's answer; the bot answers again",
                            self.channel, self.quiet)
            return None
        return not await self.handoff_open(account, customer)

    async def handoff_open(self, account: str, customer: str) -> bool:
        """Open (or find) the handoff of a taken-over conversation; False without a desk."""
        if self._handoff is None:
            return False
        record = await self._handoff(self.channel, account, customer, self.reason)
        return record is not None and bool(getattr(record, "is_open", False))

    async def release(self, account: str, customer: str) -> bool:
        """Hand the conversation back to the bot; False if no person owned it."""
        return await self.store.release(self.channel, account, customer, self.clock())

"""Messages that are not replies (agent replies, queue updates, hand-back) on the customer's channel.

They go through the connector's own agent-reply output
(:meth:`bot.delivery.ports.CustomerChannel.agent_output`, so payloads are built by the
connector's pure builders) bound to a :class:`KeyedOutbox`, which stores each payload
with ``bot.delivery``'s ``Delivery.enqueue`` under an idempotency key we choose
(``agent-reply:<id>:<attempt>``) — sent once, retried with backoff, recovered after a
restart, status-tracked.

A channel is usable here when its InputChannel is a
:class:`~bot.delivery.ports.CustomerChannel` with a delivery service.  Others (REST)
only get replies inside a dialogue turn.  A channel may refuse a message (Instagram
more than 7 days after the customer wrote) by raising :class:`bot.errors.ChannelError`;
:meth:`ChannelRegistry.try_send_text` returns the reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.delivery import Delivery, OutboundMessage, OutboxRecord, OutboxState, STATUS_RANK
from bot.delivery.ports import AgentReplyOutput, CustomerChannel, MediaFile, ReactionRecorder, TakeoverListener
from bot.errors import ChannelError, MediaUnavailable
from bot.identity import IdentityError, provider_id

logger = logging.getLogger(__name__)


class KeyedOutbox:
    """A :class:`bot.delivery.ports.AgentOutbox`: a person's messages to one customer, keys chosen by the desk.

    Args:
        delivery: the channel's delivery service.
        account: the business identity to send from.
        customer: the recipient.
        key: the idempotency key prefix; the n-th payload is stored as ``<key>:<n>``.
    """

    def __init__(self, delivery: Delivery, *, account: str, customer: str, key: str) -> None:
        self.delivery, self.account, self.customer, self.key = delivery, account, customer, key
        self.stored: List[OutboundMessage] = []
        self._position = 0

    async def add(self, payload: Mapping[str, Any], *, kind: str = "message", free_form: bool = True,
                  key: Optional[str] = None) -> Optional[OutboundMessage]:
        key = key or f"{self.key}:{self._position}"
        self._position += 1
        message = OutboundMessage(channel=self.delivery.channel, account=self.account, customer=self.customer,
                                  payload=payload, idempotency_key=key, free_form=free_form, kind=kind)
        stored = await self.delivery.enqueue(message)
        if stored is not None:
            self.stored.append(stored)
        return stored


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """The delivery state of a proactive message, summed over its parts."""

    state: str
    error: Optional[str] = None


def combined_state(records: Iterable[OutboxRecord], statuses: Mapping[str, str]) -> Delivered:
    """failed beats pending beats the lowest provider status of the parts (sent/delivered/read)."""
    records = list(records)
    if not records:
        return Delivered(state="pending")
    for record in records:
        if record.state in (OutboxState.FAILED, OutboxState.SKIPPED):
            reason = record.error_message or ("window closed" if record.state == OutboxState.SKIPPED else None)
            return Delivered(state="failed", error=reason)
    if any(record.state == OutboxState.PENDING for record in records):
        return Delivered(state="pending")
    worst = min((statuses.get(r.provider_message_id or "", "sent") for r in records),
                key=lambda status: STATUS_RANK.get(status, 2))
    return Delivered(state="failed" if worst in ("failed", "undelivered") else worst)


def address(name: str, customer: str) -> Optional[str]:
    """The provider id a handoff's customer (a namespaced sender id) is reached at on ``name``.

    None when the sender id names another channel: such a conversation is never sent to.
    """
    try:
        return provider_id(name, customer)
    except IdentityError:
        logger.warning("A handoff's customer id does not belong to channel %s; nothing sent", name)
        return None


class ChannelRegistry:
    """The customer channels of this process, found among Rasa's input channels.

    Handoffs name the customer by Rasa's sender id (``whatsapp_cloud:9715…``); the
    delivery layer and the providers by the bare provider id: :func:`address` converts.
    """

    def __init__(self) -> None:
        self._channels: Dict[str, CustomerChannel] = {}

    def discover(self, input_channels: Iterable[Any]) -> None:
        """Remember every customer channel (a :class:`CustomerChannel`) with a delivery service."""
        for channel in input_channels:
            if isinstance(channel, CustomerChannel) and channel.delivery is not None:
                self._channels[channel.name()] = channel
        logger.info("Agent replies can reach customers on: %s", ", ".join(sorted(self._channels)) or "no channel")

    def delivery(self, name: str) -> Optional[Delivery]:
        channel = self._channels.get(name)
        return channel.delivery if channel is not None else None

    def supports(self, name: str) -> bool:
        return name in self._channels

    def output(self, name: str, *, account: str, customer: str, key: str) -> Optional[AgentReplyOutput]:
        """An output channel whose messages are stored under ``key:<n>``; None if unsupported."""
        channel = self._channels.get(name)
        recipient = address(name, customer)
        if channel is None or channel.delivery is None or recipient is None:
            return None
        return channel.agent_output(KeyedOutbox(channel.delivery, account=account, customer=recipient, key=key))

    async def send_text(self, name: str, *, account: Optional[str], customer: str, text: str, key: str) -> bool:
        """Queue ``text`` for the customer; False when the channel cannot send it now."""
        return await self.try_send_text(name, account=account, customer=customer, text=text, key=key) is None

    async def try_send_text(self, name: str, *, account: Optional[str], customer: str, text: str,
                            key: str) -> Optional[str]:
        """Queue ``text`` for the customer: None when queued, else why it was not (for the desk)."""
        if not account:
            return "the business account of this conversation is unknown"
        output = self.output(name, account=account, customer=customer, key=key)
        if output is None:
            logger.warning("Channel %s cannot send messages outside a dialogue turn", name)
            return f"channel {name} cannot send messages outside a dialogue turn"
        try:
            await output.send_text_message(customer, text)
        except ChannelError as exc:  # e.g. Instagram past 7 days: the channel refuses, nothing queued
            logger.info("Channel %s refused a message (%s): %s", name, key, exc)
            return str(exc)
        return None

    async def try_send_media(self, name: str, *, account: Optional[str], customer: str, media: MediaFile,
                             caption: Optional[str], key: str) -> Optional[str]:
        """Upload an agent's file to the channel and queue it: None when queued, else why not."""
        channel = self._channels.get(name)
        output = self.output(name, account=account, customer=customer, key=key) if account else None
        if channel is None or output is None or not account:
            return f"channel {name} cannot send messages outside a dialogue turn"
        try:
            attachment = await channel.upload_media(account, media)
            if attachment is None:
                return f"channel {name} cannot send files from the desk"
            await output.send_attachment(customer, {**attachment, "caption": caption})
        except ChannelError as exc:  # the upload failed, or the channel refuses (window): nothing queued
            logger.info("Channel %s did not take a file (%s): %s", name, key, type(exc).__name__)
            return f"the file was not sent: {exc}"
        return None

    async def fetch_media(self, name: str, *, account: Optional[str], customer: str, item: Mapping[str, Any],
                          max_bytes: int) -> MediaFile:
        """A customer's media through their channel (see :meth:`CustomerChannel.fetch_media`)."""
        channel = self._channels.get(name)
        if channel is None or address(name, customer) is None:
            raise MediaUnavailable(f"no channel {name} in this process")
        return await channel.fetch_media(account, item, max_bytes=max_bytes)

    async def announce(self, name: str, *, account: Optional[str], customer: str, notice: Mapping[str, Any],
                       key: str) -> bool:
        """Show a notice (an agent joined or left) on channels whose page renders one.

        Only the web chat draws these notices; on WhatsApp or Instagram a raw custom
        payload would reach the customer as a meaningless message, so nothing is sent.
        """
        channel = self._channels.get(name)
        if channel is None or not channel.shows_agent_notices or not account:
            return False
        output = self.output(name, account=account, customer=customer, key=key)
        if output is None:
            return False
        await output.send_custom_json(customer, dict(notice))
        return True

    async def release(self, name: str, *, account: Optional[str], customer: str) -> bool:
        """Tell the channel a person no longer owns the conversation (Instagram inbox takeover)."""
        channel = self._channels.get(name)
        recipient = address(name, customer)
        if channel is None or recipient is None:
            return False
        try:
            return bool(await channel.release_to_bot(recipient, account))
        except ValueError:  # no account known to the channel: nothing was taken over there
            return False

    def attach(self, listener: TakeoverListener) -> None:
        """Offer ``listener(channel, account, customer, reason)`` to every channel: those where a
        person can take a conversation over outside the desk open handoffs with it."""
        for channel in self._channels.values():
            channel.attach_handoff(listener)

    def attach_reactions(self, recorder: ReactionRecorder) -> None:
        """Offer ``recorder(reaction)`` to every channel: those that record customer reactions
        hand them over, so an agent sees them in a handed-off conversation."""
        for channel in self._channels.values():
            channel.attach_reactions(recorder)

    async def states(self, name: str, customer: str, keys: Mapping[Any, str]) -> Dict[Any, Delivered]:
        """The delivery state of each proactive message, by the key prefix it was stored under."""
        delivery = self.delivery(name)
        recipient = address(name, customer)
        if delivery is None or not keys or recipient is None:
            return {}
        records = await delivery.outbox_records(recipient)
        statuses: Dict[str, str] = {}
        for record in records:
            if record.provider_message_id and record.state == OutboxState.SENT:
                status = await delivery.store.current_status(name, record.provider_message_id)
                if status is not None:
                    statuses[record.provider_message_id] = status.status
        found: Dict[Any, Delivered] = {}
        for ident, key in keys.items():
            parts = [r for r in records if r.message.idempotency_key.startswith(f"{key}:")]
            if parts:
                found[ident] = combined_state(parts, statuses)
        return found

    async def statuses_by_key(self, name: str, customer: str) -> Dict[str, str]:
        """Every outbox key of a customer → its current status (bot replies in transcripts)."""
        delivery = self.delivery(name)
        recipient = address(name, customer)
        if delivery is None or recipient is None:
            return {}
        found: Dict[str, str] = {}
        for record in await delivery.outbox_records(recipient):
            status = record.state.value
            if record.provider_message_id and record.state == OutboxState.SENT:
                current = await delivery.store.current_status(name, record.provider_message_id)
                status = current.status if current else "sent"
            found[record.message.idempotency_key] = status
        return found

    async def window_expires_at(self, name: str, account: Optional[str], customer: str) -> Optional[datetime]:
        """End of the customer-service window (None: the channel has no window or no data)."""
        channel = self._channels.get(name)
        recipient = address(name, customer)
        if channel is None or not account or recipient is None:
            return None
        return await channel.window_expires_at(account, recipient)

    async def account_of(self, name: str, message_id: Optional[str]) -> Optional[str]:
        """The business identity an inbound message was sent to (replies go out from it)."""
        delivery = self.delivery(name)
        if delivery is None or not message_id:
            return None
        found = await delivery.store.inbound(name, message_id)
        return found[0].account if found else None

"""Messages that are not replies (agent replies, queue updates, hand-back) on the customer's channel.

They go through the channel's own :class:`~rasa.core.channels.channel.OutputChannel`
(so payloads are built by the channel's pure builders) bound to a
:class:`KeyedOutbox`, which stores each payload with ``bot.delivery``'s
``Delivery.enqueue`` under an idempotency key we choose (``agent-reply:<id>:<attempt>``)
— sent once, retried with backoff, recovered after a restart, status-tracked.

A channel is usable here when its InputChannel object has a ``delivery`` attribute
(a :class:`bot.delivery.Delivery`) and either a ``handoff_output(outbox)`` method or
one of the known output classes below.  Channels without one (REST, socket.io) only
get replies inside a dialogue turn.  A channel may refuse a message (Instagram more
than 7 days after the customer wrote) by raising :class:`bot.errors.ChannelError`;
:meth:`ChannelRegistry.try_send_text` returns the reason.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from rasa.core.channels.channel import OutputChannel

from bot.delivery import Delivery, OutboundMessage, OutboxRecord, OutboxState, STATUS_RANK
from bot.errors import ChannelError
from bot.identity import IdentityError, provider_id

logger = logging.getLogger(__name__)

OutputFactory = Callable[[Any, "KeyedOutbox"], OutputChannel]


class KeyedOutbox:
    """Duck-types :class:`bot.delivery.Outbox` for proactive messages with chosen keys.

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


def _whatsapp_cloud(_channel: Any, outbox: KeyedOutbox) -> OutputChannel:
    from channels.whatsapp_cloud import WhatsAppCloudOutput

    return WhatsAppCloudOutput(outbox)  # type: ignore[arg-type]


def _twilio_whatsapp(channel: Any, outbox: KeyedOutbox) -> OutputChannel:
    from channels.twilio_whatsapp import TwilioWhatsAppOutput

    async def sink(payload: Mapping[str, Any], kind: str, free_form: bool) -> None:
        await outbox.add(payload, kind=kind, free_form=free_form)

    return TwilioWhatsAppOutput(sink, account=outbox.account,
                                status_callback=getattr(channel.settings, "status_callback_url", None))


def _instagram(channel: Any, outbox: KeyedOutbox) -> OutputChannel:
    """A person's messages: 24 h as usual, then ``HUMAN_AGENT`` for 7 days, then refused.

    Past 7 days ``send_text_message`` raises ``MessagingWindowClosed`` (a
    :class:`bot.errors.ChannelError`): nothing is queued and the caller reports why.
    """
    from channels.instagram import InstagramAgentOutput

    return InstagramAgentOutput(channel, account=outbox.account, key=outbox.key)


#: How long after the customer's last message a *person* may still reply free-form, where it
#: differs from the channel's delivery window: Instagram's HUMAN_AGENT tag allows 7 days
#: (channels/_instagram_window.py).  Elsewhere (WhatsApp: 24 h) the delivery window applies.
AGENT_REPLY_WINDOWS: Dict[str, timedelta] = {"instagram": timedelta(days=7)}

# Channels whose customer-facing page shows "an agent joined / left" notices.
NOTICE_CHANNELS = frozenset({"webchat"})

KNOWN_OUTPUTS: Dict[str, OutputFactory] = {"whatsapp_cloud": _whatsapp_cloud, "twilio_whatsapp": _twilio_whatsapp,
                                           "instagram": _instagram}


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
        self._channels: Dict[str, Any] = {}

    def discover(self, input_channels: Iterable[Any]) -> None:
        """Remember every input channel with a delivery service."""
        for channel in input_channels:
            if isinstance(getattr(channel, "delivery", None), Delivery):
                self._channels[channel.name()] = channel
        logger.info("Agent replies can reach customers on: %s", ", ".join(sorted(self._channels)) or "no channel")

    def delivery(self, name: str) -> Optional[Delivery]:
        channel = self._channels.get(name)
        return channel.delivery if channel is not None else None

    def supports(self, name: str) -> bool:
        channel = self._channels.get(name)
        return channel is not None and (hasattr(channel, "handoff_output") or name in KNOWN_OUTPUTS)

    def output(self, name: str, *, account: str, customer: str, key: str) -> Optional[OutputChannel]:
        """An output channel whose messages are stored under ``key:<n>``; None if unsupported."""
        channel = self._channels.get(name)
        recipient = address(name, customer)
        if channel is None or not self.supports(name) or recipient is None:
            return None
        outbox = KeyedOutbox(channel.delivery, account=account, customer=recipient, key=key)
        if hasattr(channel, "handoff_output"):
            return channel.handoff_output(outbox)
        return KNOWN_OUTPUTS[name](channel, outbox)

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

    async def announce(self, name: str, *, account: Optional[str], customer: str, notice: Mapping[str, Any],
                       key: str) -> bool:
        """Show a notice (an agent joined or left) on channels whose page renders one.

        Only the web chat draws these notices; on WhatsApp or Instagram a raw custom
        payload would reach the customer as a meaningless message, so nothing is sent.
        """
        if name not in NOTICE_CHANNELS or not account:
            return False
        output = self.output(name, account=account, customer=customer, key=key)
        if output is None:
            return False
        await output.send_custom_json(customer, dict(notice))
        return True

    async def release(self, name: str, *, account: Optional[str], customer: str) -> bool:
        """Tell the channel a person no longer owns the conversation (Instagram inbox takeover)."""
        channel = self._channels.get(name)
        release = getattr(channel, "release_to_bot", None)
        recipient = address(name, customer)
        if release is None or recipient is None:
            return False
        try:
            return bool(await release(recipient, account))
        except ValueError:  # no account known to the channel: nothing was taken over there
            return False

    def attach(self, listener: Callable[..., Any]) -> None:
        """Offer ``listener(channel, account, customer, reason)`` to channels where a person can
        take a conversation over outside the desk (``attach_handoff``)."""
        for channel in self._channels.values():
            attach = getattr(channel, "attach_handoff", None)
            if attach is not None:
                attach(listener)

    def attach_reactions(self, recorder: Callable[..., Any]) -> None:
        """Offer ``recorder(reaction)`` to channels that record customer reactions (``attach_reactions``),
        so an agent sees them in a handed-off conversation (see ``channels._reactions``)."""
        for channel in self._channels.values():
            attach = getattr(channel, "attach_reactions", None)
            if attach is not None:
                attach(recorder)

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
        """Until when an agent may reply free-form (None: the channel has no window or no data).

        The channel's delivery window (WhatsApp 24 h), or :data:`AGENT_REPLY_WINDOWS` (Instagram 7 days).
        """
        delivery = self.delivery(name)
        recipient = address(name, customer)
        if delivery is None or delivery.window is None or not account or recipient is None:
            return None
        last = await delivery.store.last_inbound_at(name, account, recipient)
        return last + AGENT_REPLY_WINDOWS.get(name, delivery.window) if last else None

    async def account_of(self, name: str, message_id: Optional[str]) -> Optional[str]:
        """The business identity an inbound message was sent to (replies go out from it)."""
        delivery = self.delivery(name)
        if delivery is None or not message_id:
            return None
        found = await delivery.store.inbound(name, message_id)
        return found[0].account if found else None

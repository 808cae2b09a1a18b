"""Instagram's messaging windows, as a pure policy the agent desk can rely on.

- Up to 24 hours after the customer's last message: any reply (``RESPONSE``).
- From 24 hours to 7 days: only a person's reply, tagged ``HUMAN_AGENT``.
- Later: nothing may be sent; the caller gets :class:`MessagingWindowClosed` with
  the reason, to show the agent instead of silently dropping the reply.

Policy: https://developers.facebook.com/docs/messenger-platform/policy/policy-overview
(standard messaging and the Human Agent tag) and CHANNELS.md §3.3.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from bot.errors import ChannelError
from channels.instagram.payloads import HUMAN_AGENT

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
#: Treat a window as closed this much early (clock skew, webhook and queue delay).
WINDOW_MARGIN = timedelta(minutes=1)

NO_CONVERSATION = "no_conversation"
EXPIRED = "expired"


class MessagingWindowClosed(ChannelError):
    """An agent's reply cannot be sent: more than 7 days since the customer wrote.

    Attributes:
        customer: the customer's IGSID.
        reason: ``"no_conversation"`` (the customer never wrote) or ``"expired"``.
        last_inbound_at: when the customer last wrote, if ever.
        closed_at: when sending stopped being allowed, if it ever was.
    """

    def __init__(self, customer: str, reason: str, last_inbound_at: Optional[datetime] = None,
                 closed_at: Optional[datetime] = None) -> None:
        detail = ("the customer has not written on Instagram" if reason == NO_CONVERSATION
                  else "more than 7 days since the customer's last Instagram message")
        super().__init__(f"cannot send on Instagram: {detail}")
        self.customer = customer
        self.reason = reason
        self.last_inbound_at = last_inbound_at
        self.closed_at = closed_at

    def __repr__(self) -> str:
        return f"MessagingWindowClosed(reason={self.reason!r}, closed_at={self.closed_at!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class SendPolicy:
    """How a message may go out now.

    Attributes:
        tag: ``"HUMAN_AGENT"`` between 24 hours and 7 days, else None.
        free_form: True inside the 24-hour window (the delivery layer re-checks it
            before each attempt); False for tagged messages, which it must not skip.
        open_until: when this way of sending stops being allowed.
    """

    tag: Optional[str]
    free_form: bool
    open_until: datetime


def agent_reply_policy(customer: str, last_inbound_at: Optional[datetime], now: datetime,
                       margin: timedelta = WINDOW_MARGIN) -> SendPolicy:
    """The policy for a person's reply to ``customer`` at ``now``.

    Raises:
        MessagingWindowClosed: the customer never wrote, or wrote more than 7 days ago.
    """
    if last_inbound_at is None:
        raise MessagingWindowClosed(customer, NO_CONVERSATION)
    standard_end = last_inbound_at + STANDARD_WINDOW - margin
    if now < standard_end:
        return SendPolicy(tag=None, free_form=True, open_until=standard_end)
    agent_end = last_inbound_at + HUMAN_AGENT_WINDOW - margin
    if now < agent_end:
        return SendPolicy(tag=HUMAN_AGENT, free_form=False, open_until=agent_end)
    raise MessagingWindowClosed(customer, EXPIRED, last_inbound_at, agent_end)


def private_reply_allowed(commented_at: Optional[datetime], now: datetime) -> bool:
    """A private reply is allowed within 7 days of the comment (unknown time: yes)."""
    return commented_at is None or now < commented_at + HUMAN_AGENT_WINDOW - WINDOW_MARGIN

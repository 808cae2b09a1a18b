"""The 24-hour customer-service window, as it concerns a person's messages from the desk.

Inside the window an agent writes freely; after it WhatsApp accepts only approved
templates (Meta: "Customer service windows").  The desk refuses a free-form reply at
once, with the reason and what to do instead, rather than storing it to be skipped
later: the agent then picks a template (:mod:`bot.handoff.message_templates`).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from bot.errors import ChannelError


class WindowClosed(ChannelError):
    """A free-form message after the 24-hour window (nothing was queued).

    Attributes:
        closed_at: when the window closed (None: the customer never wrote to this number).
    """

    def __init__(self, closed_at: Optional[datetime]) -> None:
        when = f" at {closed_at:%Y-%m-%d %H:%M} UTC" if closed_at else " (the customer has not written)"
        super().__init__(f"the 24-hour WhatsApp window closed{when}: free-form messages are refused; "
                         "send an approved template instead")
        self.closed_at = closed_at

    def __repr__(self) -> str:
        return f"WindowClosed(closed_at={self.closed_at!r})"

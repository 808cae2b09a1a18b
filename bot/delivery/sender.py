"""The provider-neutral sending interface and the retry policy.

A channel gives the delivery layer one :class:`Sender`.  The sender makes exactly
one attempt per call and classifies failures by raising
:class:`bot.errors.ProviderAPIError` (``is_transient`` decides whether the delivery
layer retries) or :class:`bot.errors.WindowClosedError`.  Retrying, backing off,
recording and the window policy live in :mod:`bot.delivery.service`, once for all
channels.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Protocol

if TYPE_CHECKING:
    from bot.delivery.types import OutboundMessage, SendResult


class Sender(Protocol):
    """What the delivery layer needs from a channel to send messages."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Make one attempt to send ``message.payload`` from ``message.account``.

        Args:
            message: the stored outbound message.

        Returns:
            The provider's answer (its message id, for status reports).

        Raises:
            bot.errors.WindowClosedError: the customer-service window is closed.
            bot.errors.ProviderAPIError: any other failure; ``is_transient`` tells
                whether a later retry can help (rate limits, 5xx, timeouts: yes;
                4xx such as an undeliverable recipient: no).
        """
        ...

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        """The approved-template payload to send instead of ``message`` when the window is closed.

        Args:
            message: the free-form message that cannot be sent.

        Returns:
            A provider request body (sent with ``free_form=False``), or None when no
            template is configured for ``message.account`` (the message is then only
            recorded as skipped).
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter for transient send failures.

    Attempt ``n`` (1-based) that fails transiently is retried after a random delay in
    ``[0, min(max_delay, base_delay * 2 ** (n - 1))]`` seconds, at least
    ``min_delay``.  After ``max_attempts`` attempts the message is marked failed.

    Attributes:
        max_attempts: attempts in total, the first one included.
        base_delay: seconds; the cap of the first backoff.
        max_delay: seconds; the largest backoff.
        min_delay: seconds; the smallest backoff (avoids hot loops).
    """

    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 300.0
    min_delay: float = 0.05

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        cap = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        return max(self.min_delay, cap * rand())

    def exhausted(self, attempts: int) -> bool:
        """True when ``attempts`` attempts were made and no more are allowed."""
        return attempts >= self.max_attempts

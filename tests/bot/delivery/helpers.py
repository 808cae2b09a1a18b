"""Test doubles for the delivery layer: a scripted sender and item builders."""
from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Deque, Dict, List, Mapping, Optional

from bot.delivery import InboundItem, OutboundMessage, RetryPolicy, SendResult, utcnow
from bot.errors import ProviderAPIError, WindowClosedError

CHANNEL = "test_channel"
FAST = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.05, min_delay=0.005)

#: Outcomes a ScriptedSender can be told to produce, in order, before succeeding.
TRANSIENT = ProviderAPIError(130429, "rate limit", True)
PERMANENT = ProviderAPIError(131026, "undeliverable", False)
WINDOW = WindowClosedError(131047)


@dataclass
class ScriptedSender:
    """A :class:`bot.delivery.Sender` that fails as scripted, then succeeds."""

    script: Deque[Any] = field(default_factory=deque)
    attempts: List[OutboundMessage] = field(default_factory=list)
    sent: List[OutboundMessage] = field(default_factory=list)
    template: Optional[Mapping[str, Any]] = None
    hang: Optional[asyncio.Event] = None

    def fail(self, *errors: Any) -> None:
        self.script.extend(errors)

    async def send(self, message: OutboundMessage) -> SendResult:
        self.attempts.append(message)
        if self.hang is not None:
            await self.hang.wait()
        if self.script:
            error = self.script.popleft()
            if error is not None:
                raise error
        self.sent.append(message)
        return SendResult(provider_message_id=f"pm-{len(self.sent)}")

    def window_template(self, message: OutboundMessage) -> Optional[Mapping[str, Any]]:
        return dict(self.template, to=message.customer) if self.template else None

    def texts(self) -> List[Any]:
        return [m.payload.get("text") for m in self.sent]


def item(message_id: str, *, customer: str = "cust-1", account: str = "acct-1", text: str = "hi",
         sent_at: Optional[datetime] = None, opens_window: bool = True) -> InboundItem:
    return InboundItem(
        channel=CHANNEL,
        message_id=message_id,
        account=account,
        customer=customer,
        payload={"text": text},
        sent_at=sent_at or utcnow(),
        opens_window=opens_window,
    )


@dataclass
class Clock:
    """A settable clock (aware UTC)."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class EchoHandler:
    """Replies to every inbound item with ``replies`` copies of its text; records calls."""

    replies: int = 1
    seen: List[str] = field(default_factory=list)
    fail_times: Dict[str, int] = field(default_factory=dict)
    delay: float = 0.0

    async def __call__(self, inbound: InboundItem, outbox: Any) -> None:
        self.seen.append(inbound.message_id)
        if self.fail_times.get(inbound.message_id, 0) > 0:
            self.fail_times[inbound.message_id] -= 1
            raise RuntimeError("handler failed")
        if self.delay:
            await asyncio.sleep(self.delay)
        for n in range(self.replies):
            await outbox.add({"text": f"{inbound.payload['text']}#{n}"}, kind="text")


async def eventually(predicate: Any, timeout: float = 60.0, interval: float = 0.01) -> None:
    """Wait until ``predicate()`` is true (fails the test after ``timeout`` seconds).

    The bound only ends a test that already failed: generous, so a loaded machine never
    turns a correct run into a failure.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


async def drained_until(delivery: Any, predicate: Any, timeout: float = 60.0) -> None:
    """Drain ``delivery`` until ``await predicate()`` is true.

    A transient failure leaves a retry timer, and ``drain`` returns while it waits; the
    retries come back on their own, so drain again until the outcome is there.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await delivery.drain()
        if await predicate():
            return
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)

"""Retry backoff and the 24-hour customer-service window, at their exact boundaries.

Time comes from an injected clock (``helpers.Clock``), never from sleeping: a stored
retry time is honoured because the clock says so, and the window boundary is tested one
second either side of 24 hours.  SQLite and PostgreSQL (the ``engine`` fixture).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Optional

import pytest

from bot.delivery import DEFAULT_WINDOW, OutboundMessage, OutboxState, RetryPolicy
from tests.bot.delivery.helpers import CHANNEL, TRANSIENT, Clock, EchoHandler, ScriptedSender, item

TEMPLATE = {"type": "template", "template": {"name": "reengage"}}
CONV = ("acct-1", "cust-1")


@dataclass(frozen=True, slots=True, kw_only=True)
class NoJitter(RetryPolicy):
    """The production policy with its jitter at the top of the range: the cap itself."""

    def delay(self, attempt: int, rand: Optional[Callable[[], float]] = None) -> float:
        return RetryPolicy.delay(self, attempt, lambda: 1.0)


@pytest.mark.parametrize("attempt, cap", [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (8, 256.0), (9, 300.0), (20, 300.0)])
def test_the_backoff_cap_doubles_per_attempt_up_to_the_maximum(attempt: int, cap: float) -> None:
    policy = RetryPolicy()  # the shipped defaults: 2 s doubling, at most 300 s
    assert policy.delay(attempt, lambda: 1.0) == cap
    assert policy.delay(attempt, lambda: 0.5) == cap / 2  # full jitter: uniform below the cap
    assert policy.delay(attempt, lambda: 0.0) == policy.min_delay  # never a hot loop


def test_retries_stop_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


async def stored_retry(delivery):
    [record] = await delivery.outbox_records()
    return record


async def test_each_failed_attempt_stores_an_exponentially_later_retry_time(make):
    clock = Clock()
    sender = ScriptedSender()
    sender.fail(TRANSIENT, TRANSIENT, TRANSIENT)
    policy = NoJitter(max_attempts=6, base_delay=10, max_delay=1000, min_delay=0.01)
    delivery = await make(sender, retry=policy, clock=clock)
    await delivery.accept([item("m1", text="a")])
    await delivery.drain()

    waits = []
    for attempts in (1, 2, 3):
        record = await stored_retry(delivery)
        assert record.state is OutboxState.PENDING and record.message.attempts == attempts
        waits.append((record.next_attempt_at - clock.now).total_seconds())
        clock.now = record.next_attempt_at  # exactly due: the sender may try again
        delivery.kick(CONV)
        await delivery.drain()
    assert waits == [10.0, 20.0, 40.0]
    record = await stored_retry(delivery)
    assert record.state is OutboxState.SENT and len(sender.attempts) == 4 and sender.texts() == ["a#0"]


async def test_a_stored_retry_time_is_honoured_after_a_restart(make):
    clock = Clock()
    sender = ScriptedSender()
    sender.fail(TRANSIENT)
    policy = NoJitter(max_attempts=6, base_delay=100, max_delay=100, min_delay=0.01)
    first = await make(sender, retry=policy, clock=clock)
    await first.accept([item("m1", text="a")])
    await first.drain()
    due = (await stored_retry(first)).next_attempt_at
    assert due == clock.now + timedelta(seconds=100)
    await first.stop()

    clock.advance(seconds=99)  # the restart comes 1 s before the stored retry time
    second = await make(sender, retry=policy, clock=clock)
    await second.drain()  # start() resumed the conversation: its sender read the row and waits
    assert len(sender.attempts) == 1 and (await stored_retry(second)).state is OutboxState.PENDING

    clock.advance(seconds=1)
    second.kick(CONV)
    await second.drain()
    assert len(sender.attempts) == 2 and sender.texts() == ["a#0"]


def test_the_window_is_24_hours() -> None:
    assert DEFAULT_WINDOW == timedelta(hours=24)


@pytest.mark.parametrize("margin", [timedelta(0), timedelta(minutes=1)])
async def test_window_boundary_one_second_either_side(make, margin):
    clock = Clock()
    delivery = await make(ScriptedSender(), clock=clock, window_margin=margin)  # the default 24-hour window
    wrote = clock.now
    await delivery.accept([item("m1", sent_at=wrote)], schedule=False)
    closes = wrote + timedelta(hours=24) - margin
    assert await delivery.window_open(*CONV, at=closes - timedelta(seconds=1))
    assert not await delivery.window_open(*CONV, at=closes)
    assert not await delivery.window_open(*CONV, at=closes + timedelta(seconds=1))


async def message(delivery, key: str) -> None:
    await delivery.enqueue(OutboundMessage(channel=CHANNEL, account=CONV[0], customer=CONV[1],
                                           payload={"text": key}, idempotency_key=key, kind="text"))
    await delivery.drain()


async def test_a_reply_one_second_before_the_window_closes_is_sent_one_second_after_is_not(make):
    clock = Clock()
    sender = ScriptedSender(template=TEMPLATE)
    delivery = await make(sender, EchoHandler(), clock=clock)  # defaults: 24 h window, 1 min margin
    wrote = clock.now
    await delivery.accept([item("m1", sent_at=wrote)])
    await delivery.drain()
    closes = wrote + timedelta(hours=24) - delivery.window_margin

    clock.now = closes - timedelta(seconds=1)
    await message(delivery, "just in time")
    clock.now = closes + timedelta(seconds=1)
    await message(delivery, "too late")
    assert [m.payload.get("text") for m in sender.sent if m.kind == "text"] == ["hi#0", "just in time"]
    assert [m.kind for m in sender.sent][-1] == "template"
    states = {r.message.idempotency_key: r.state for r in await delivery.outbox_records()}
    assert states["just in time"] is OutboxState.SENT and states["too late"] is OutboxState.SKIPPED


def test_the_shipped_policy() -> None:
    import dataclasses

    policy = RetryPolicy()
    assert (policy.max_attempts, policy.base_delay, policy.max_delay, policy.min_delay) == (6, 2.0, 300.0, 0.05)
    assert policy.exhausted(6) and not policy.exhausted(5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_attempts = 100  # type: ignore[misc]
    with pytest.raises(TypeError):
        RetryPolicy(3)  # type: ignore[misc]  keyword-only: no silent mix-up of attempts and delays
    assert not hasattr(policy, "__dict__")

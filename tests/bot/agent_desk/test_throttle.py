"""The sign-in throttle's arithmetic: free mistakes, a doubling lock with a ceiling, forgetting, bounded memory."""
from __future__ import annotations

from bot.agent_desk.throttle import ACCOUNT_LIMIT, IP_LIMIT, Limit, SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_lock_doubles_after_the_free_mistakes_up_to_a_ceiling() -> None:
    limit = Limit(free=3, base_delay=1.0, max_delay=60.0)
    assert [limit.lock_for(n) for n in range(1, 10)] == [0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert limit.lock_for(10_000) == 60.0


def test_failures_lock_both_the_account_and_the_ip() -> None:
    clock = Clock()
    throttle = SignInThrottle(clock=clock)
    keys = throttle.keys("198.51.100.7", " Noura@Example.com ")
    assert set(keys) == {"ip:198.51.100.7", "account:noura@example.com"}
    for _ in range(ACCOUNT_LIMIT.free):
        assert throttle.retry_after(keys) == 0
        throttle.failed(keys)
    assert throttle.retry_after(keys) == 1
    assert throttle.retry_after(["account:noura@example.com"]) == 1
    assert throttle.retry_after(["ip:198.51.100.7"]) == 0, "the IP has more free mistakes"
    clock.now += 1
    assert throttle.retry_after(keys) == 0
    throttle.failed(keys)
    assert throttle.retry_after(keys) == 2
    throttle.succeeded("account:noura@example.com")
    assert throttle.retry_after(keys) == 0
    assert IP_LIMIT.free > ACCOUNT_LIMIT.free


def test_failures_are_forgotten_after_the_window() -> None:
    clock = Clock()
    throttle = SignInThrottle(window=600, clock=clock)
    keys = {"account:a@example.com": Limit(free=2)}  # the second failure in a row would lock
    throttle.failed(keys)
    clock.now += 601
    throttle.failed(keys)
    assert throttle.retry_after(keys) == 0, "the first failure was forgotten: this one is free again"


def test_memory_is_bounded() -> None:
    throttle = SignInThrottle(clock=Clock(), max_keys=100)
    for i in range(1000):
        throttle.failed({f"account:user{i}@example.com": ACCOUNT_LIMIT})
    assert len(throttle._keys) == 100

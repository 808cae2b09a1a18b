"""Sign-in throttling: per client IP and per account, with a growing backoff.

A few wrong passwords are free (typos).  After that each failure locks the key
for ``base_delay * 2**(extra failures)`` seconds (capped); while locked, a sign-in
is refused with 429 *before* the password is checked, so even the right password
waits until the backoff has passed: guessing costs time, not just requests.
Failures are forgotten ``window`` seconds after the last one.

State is kept in memory, per process (the desk runs in one Rasa process); the
number of tracked keys is bounded so a flood of made-up emails cannot grow it
without limit.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass
class _Failures:
    count: int
    last: float
    locked_until: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """After ``free`` failures in a row the key is locked, for longer after each further failure."""

    free: int
    base_delay: float = 1.0
    max_delay: float = 900.0

    def lock_for(self, failures: int) -> float:
        extra = failures - self.free
        if extra < 0:
            return 0.0
        return min(self.max_delay, self.base_delay * 2.0 ** min(extra, 30))


#: per account: a person mistyping; per IP: an office behind one NAT signs in many agents.
ACCOUNT_LIMIT = Limit(free=5)
IP_LIMIT = Limit(free=20)


class SignInThrottle:
    """Remembers recent sign-in failures per key (``ip:…``, ``account:…``).

    Args:
        window: seconds after the last failure when a key's failures are forgotten.
        clock: monotonic seconds (injectable for tests).
        max_keys: the most keys remembered (oldest forgotten first).
    """

    def __init__(self, *, window: float = 900.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 50_000) -> None:
        self.window, self.clock, self.max_keys = window, clock, max_keys
        self._keys: "OrderedDict[str, _Failures]" = OrderedDict()

    @staticmethod
    def keys(ip: str, email: str) -> dict:
        """The throttled keys of a sign-in attempt, with their limits."""
        return {f"ip:{ip}": IP_LIMIT, f"account:{email.strip().lower()}": ACCOUNT_LIMIT}

    def _live(self, key: str, now: float) -> _Failures | None:
        entry = self._keys.get(key)
        if entry is not None and now - entry.last > self.window and now >= entry.locked_until:
            del self._keys[key]
            return None
        return entry

    def retry_after(self, keys: Iterable[str]) -> int:
        """Whole seconds until a sign-in on ``keys`` may be tried (0: now)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            entry = self._live(key, now)
            if entry is not None:
                wait = max(wait, entry.locked_until - now)
        return int(math.ceil(wait)) if wait > 0 else 0

    def failed(self, limits: dict) -> None:
        """Count a wrong password (or unknown email) on every key."""
        now = self.clock()
        for key, limit in limits.items():
            entry = self._live(key, now)
            count = (entry.count if entry else 0) + 1
            self._keys[key] = _Failures(count=count, last=now, locked_until=now + limit.lock_for(count))
            self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)

    def succeeded(self, account_key: str) -> None:
        """A right password: the account's failures are forgotten (the IP's are not)."""
        self._keys.pop(account_key, None)


__all__ = ["ACCOUNT_LIMIT", "IP_LIMIT", "Limit", "SignInThrottle"]

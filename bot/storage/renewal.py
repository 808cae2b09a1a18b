"""Claims kept while their work runs: a turn or a send slower than the lease.

A claim (:mod:`bot.storage.claims`) holds for a lease so that a crashed instance's work
moves on.  Work that legitimately takes longer (a slow action server, a provider that
answers in 20 s, a batch of slow webhook targets) would otherwise look abandoned half way:
another instance would take the row over and do it a second time, out of order.  While
the work runs, :func:`renewing` pushes the lease forward every third of it; a process
that dies stops renewing, so its claims still pass after one lease.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

logger = logging.getLogger(__name__)


@asynccontextmanager
async def renewing(renew: Callable[[], Awaitable[Any]], every: float) -> AsyncIterator[None]:
    """Call ``renew()`` every ``every`` seconds while the body runs (the first call after ``every``).

    A failed renewal is logged and tried again at the next tick: the work itself is not
    interrupted (its claim may still hold; if not, the finish is refused by the store).
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await renew()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Could not renew a claim; trying again in %.1f s", every, exc_info=True)

    task = asyncio.get_running_loop().create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


__all__ = ["renewing"]

"""Base for small stores of per-conversation records (contact addresses, takeovers, entry sources).

Database calls are blocking (SQLAlchemy Core); they run off the event loop, on the
delivery store's executor when one is given, so calls on one SQLite connection
never overlap.  Tables come from the migrations (:func:`bot.storage.migrate`), which
run once before the first call: a store never creates a table of its own.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from functools import partial
from typing import Any, Awaitable, Callable, Optional, TypeVar

from sqlalchemy.engine import Engine

from bot.storage.migrations import migrate

T = TypeVar("T")


class TableStore:
    """Runs blocking calls off the loop, the schema brought up to date before the first one.

    Args:
        engine: from :func:`bot.storage.get_engine`.
        executor: where database calls run (default: the loop's thread pool).
        run: a coroutine function that runs a blocking call, e.g. ``DeliveryStore.run_blocking``;
            it takes precedence over ``executor``.
    """

    def __init__(self, engine: Engine, executor: Optional[Executor] = None, *,
                 run: Optional[Callable[..., Awaitable[Any]]] = None) -> None:
        self.engine = engine
        self._executor = executor
        self._run_blocking = run
        self._ready = False

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._run_blocking is not None:
            return await self._run_blocking(fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if not self._ready:
            await self._call(migrate, self.engine)
            self._ready = True
        return await self._call(fn, *args)

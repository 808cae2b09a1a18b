"""One adapter from a blocking store to the event loop: each method becomes a coroutine.

The SQL stores are synchronous SQLAlchemy Core (SQLAlchemy 1.4, pinned by Rasa 3.6).
:func:`threaded` turns one of their methods into a coroutine method of an async face
that runs the call on the face's thread pool, so the event loop never blocks on the
database, and every store keeps ONE implementation of each query.
"""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Generic, Optional, TypeVar

from sqlalchemy.engine import Engine

from bot.storage.engine import is_sqlite

T = TypeVar("T")
Core = TypeVar("Core")


class Threaded(Generic[Core]):
    """The async face of the blocking store ``core``.

    Args:
        core: the blocking store (has an ``engine``).
        executor: thread pool for its calls; by default one thread for SQLite (a single
            writer anyway, and calls on one SQLite connection never overlap) and four
            for PostgreSQL.
    """

    def __init__(self, core: Core, executor: Optional[ThreadPoolExecutor] = None) -> None:
        self.core = core
        self.engine: Engine = getattr(core, "engine")
        self._executor = executor or ThreadPoolExecutor(
            max_workers=1 if is_sqlite(self.engine) else 4, thread_name_prefix=f"majlis-{type(core).__name__}"
        )

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call (e.g. a query on :attr:`engine`) on this store's thread pool.

        Other stores sharing the engine use it too (``TableStore(run=...)``), so calls on
        one SQLite connection never overlap.
        """
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Stop the thread pool (the engine is shared and stays open)."""
        self._executor.shutdown(wait=False)


def threaded(method: Callable[..., T]) -> Callable[..., Any]:
    """``name = threaded(Core.name)`` in a :class:`Threaded` subclass: the coroutine version.

    Same name, arguments and docstring; runs ``core.name(...)`` through ``run_blocking``.
    """
    @functools.wraps(method)
    async def call(self: Threaded[Any], *args: Any, **kwargs: Any) -> T:
        return await self.run_blocking(method, self.core, *args, **kwargs)

    return call

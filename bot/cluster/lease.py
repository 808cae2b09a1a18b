"""One instance at a time works a conversation: a lease per (channel, account, customer).

With several Rasa servers on one database, two of them claiming messages of the same
conversation at once would answer them out of order (each claims "the oldest pending
row"; the second claims the next one while the first still processes), and two senders
could send the same stored reply.  A lease makes the conversation one instance's at a
time; inside the instance, the delivery service's per-conversation worker and sender
keep the order as before.

PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a dedicated
connection.  The server frees it when the holder's connection ends, so an instance that
is SIGKILLed gives its conversations up at once, with no expiry to tune.  SQLite (one
process by definition): :class:`LocalLocks`, which always grants.

Leases are re-entrant inside a process (the worker and the sender of a conversation
share one) and counted; the database lock is taken by the first holder and given back
by the last.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional, Protocol, Tuple

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine

from bot.storage import create_engine, is_sqlite

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

#: First and longest pause between two tries while waiting for a lease held elsewhere.
FIRST_POLL_S = 0.02
MAX_POLL_S = 0.25


def lock_key(channel: str, conv: Conversation) -> int:
    """The advisory lock's 64-bit key (signed, as PostgreSQL's bigint) for a conversation."""
    digest = hashlib.blake2b(f"majlis-conversation\0{channel}\0{conv[0]}\0{conv[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LockBackend(Protocol):
    """Blocking calls (run on a worker thread)."""

    def try_lock(self, key: int) -> Optional[Any]:
        """A handle when the lock was free and is now held; None when someone else holds it."""

    def unlock(self, handle: Any) -> None:
        """Give the lock back (the handle is not used again)."""


class LocalLocks:
    """One process per database (SQLite): the in-process count is the whole lease."""

    def try_lock(self, key: int) -> Optional[Any]:
        return key

    def unlock(self, handle: Any) -> None:
        return None


class AdvisoryLocks:
    """PostgreSQL session-level advisory locks, one pooled connection per held lock.

    Args:
        engine: a PostgreSQL engine used only for locks (its pool bounds how many
            conversations one instance holds at once).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def try_lock(self, key: int) -> Optional[Any]:
        try:
            raw = self.engine.raw_connection()
        except sa_exc.TimeoutError:
            return None  # this instance holds as many conversations as it may: not now
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT pg_try_advisory_lock(%s)", (key,))
            got = bool(cursor.fetchone()[0])
            cursor.close()
            raw.commit()  # no transaction stays open while the lock is held
        except Exception:
            raw.invalidate()
            raise
        if not got:
            raw.close()
            return None
        return raw, key

    def unlock(self, handle: Any) -> None:
        raw, key = handle
        try:
            cursor = raw.cursor()
            cursor.execute("SELECT pg_advisory_unlock(%s)", (key,))
            cursor.close()
            raw.commit()
        except Exception:
            # Closing the connection frees every lock of its session: never back to the pool with one.
            raw.invalidate()
            logger.warning("Conversation lease given back by closing its connection")
            return
        raw.close()


def backend_for(engine: Engine, *, max_held: int = 10) -> LockBackend:
    """Advisory locks on a pool of their own for PostgreSQL; :class:`LocalLocks` for SQLite.

    ``max_held`` bounds the conversations this instance holds at once, and so the
    PostgreSQL connections the leases take (one each; the server's ``max_connections``
    is shared by every instance): a lease asked for beyond it is "not now".
    """
    if is_sqlite(engine):
        return LocalLocks()
    return AdvisoryLocks(create_engine(engine.url.render_as_string(hide_password=False),
                                       pool_size=max_held, max_overflow=0, pool_timeout=0.05, pool_pre_ping=True))


class ConversationLeases:
    """Re-entrant, counted leases of one process on the conversations of one channel.

    Args:
        channel: the channel name (part of the lock key).
        backend: the lock (:func:`backend_for`).
        on_acquired: blocking function run (on the lock's thread) right after a
            conversation's lock was taken by this process: a fresh owner cleans up after a
            previous one that died (its rows still "processing").
    """

    def __init__(self, channel: str, backend: LockBackend,
                 on_acquired: Optional[Callable[[Conversation], None]] = None) -> None:
        self.channel = channel
        self.backend = backend
        self.on_acquired = on_acquired
        self._count: Dict[Conversation, int] = {}
        self._handles: Dict[Conversation, Any] = {}
        self._taking: Dict[Conversation, asyncio.Lock] = {}
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="majlis-lease")
        self.waits = 0

    def held(self, conv: Conversation) -> bool:
        return self._count.get(conv, 0) > 0

    async def acquire(self, conv: Conversation, wait: float = 0.0) -> bool:
        """Hold ``conv`` (re-entrant); wait up to ``wait`` s while another instance has it."""
        if self._count.get(conv):
            self._count[conv] += 1
            return True
        taking = self._taking.setdefault(conv, asyncio.Lock())
        try:
            async with taking:
                if self._count.get(conv):  # another task of this process took it meanwhile
                    self._count[conv] += 1
                    return True
                loop = asyncio.get_running_loop()
                deadline = loop.time() + wait
                pause = FIRST_POLL_S
                while True:
                    handle = await loop.run_in_executor(self._executor, self._take, conv)
                    if handle is not None:
                        self._handles[conv] = handle
                        self._count[conv] = 1
                        return True
                    if loop.time() + pause > deadline:
                        return False
                    self.waits += 1
                    await asyncio.sleep(pause)
                    pause = min(MAX_POLL_S, pause * 2)
        finally:
            if not taking.locked() and not self._count.get(conv):
                self._taking.pop(conv, None)

    def _take(self, conv: Conversation) -> Optional[Any]:
        handle = self.backend.try_lock(lock_key(self.channel, conv))
        if handle is not None and self.on_acquired is not None:
            try:
                self.on_acquired(conv)
            except Exception:
                self.backend.unlock(handle)
                raise
        return handle

    async def release(self, conv: Conversation) -> bool:
        """Give one hold back; True when it was the last (the lock is free for other instances)."""
        left = self._count.get(conv, 0) - 1
        if left > 0:
            self._count[conv] = left
            return False
        self._count.pop(conv, None)
        taking = self._taking.get(conv)
        if taking is not None and not taking.locked():
            del self._taking[conv]  # one lock object per conversation being taken, not per conversation ever seen
        handle = self._handles.pop(conv, None)
        if handle is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self.backend.unlock, handle)
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False)


__all__ = ["AdvisoryLocks", "ConversationLeases", "LocalLocks", "backend_for", "lock_key"]

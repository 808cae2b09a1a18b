"""Moving journaled webhooks into the delivery database, behind the acknowledgement.

A receiver appends each verified webhook body to its private :class:`~bot.gateway.journal.Journal`
and answers at once; :class:`JournalRelay` is the background task that then, oldest
first, hands each body to ``deliver`` (which records it in the shared delivery database
and returns the conversations with new messages), passes those to ``notify`` (the
notice to the Rasa process) and only then deletes the entry.

Why this order is safe: an entry is deleted only after its rows are committed in the
delivery database, so a crash anywhere leaves it in the journal and it is delivered
again on the next start.  The delivery database deduplicates messages on their
provider id and statuses on their value, so a replay stores nothing twice and, having
no new messages, sends no notice.

Failures:

- the delivery database unavailable (``retry_on``, e.g. ``SQLAlchemyError``): the
  entry stays, the relay waits (exponential backoff up to ``max_backoff``) and tries
  the same entry again: order is kept; the provider already has its 200.  One WARNING
  per outage, one INFO when it works again.
- any other error (a body that can never be recorded): the entry is *parked* (kept in
  the file for inspection, never retried) so it cannot block the ones behind it;
  logged at ERROR with the exception type only.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Iterable, Optional, Tuple, Type

from bot.gateway.journal import Journal

logger = logging.getLogger(__name__)

Conversation = Tuple[str, str]

#: Entries read from the journal per round (removed together in one journal commit).
BATCH = 64
#: First and longest wait after the delivery database failed, seconds.
FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 10.0


class JournalRelay:
    """Background task: journal → ``deliver`` → ``notify`` → remove, oldest first.

    Args:
        journal: the open journal.
        deliver: records one body in the delivery database; returns the conversations
            with new messages.  Raises one of ``retry_on`` while the database is unavailable.
        notify: told those conversations (never blocks).
        retry_on: exceptions meaning "the database is unavailable, try again later".
        first_backoff, max_backoff: seconds to wait after a failure (doubling).
    """

    def __init__(
        self,
        journal: Journal,
        deliver: Callable[[bytes], Awaitable[Iterable[Conversation]]],
        notify: Callable[[Iterable[Conversation]], None],
        *,
        retry_on: Tuple[Type[BaseException], ...] = (OSError,),
        first_backoff: float = FIRST_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
    ) -> None:
        self.journal = journal
        self.deliver = deliver
        self.notify = notify
        self.retry_on = retry_on
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.delivered = 0
        self.parked = 0
        self.failures = 0
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._stopping = False
        #: the delivery database failed at the last try (readiness reports it)
        self.failing = False
        #: entries that left the journal (recorded or parked) since this relay was made
        self.moved = 0
        self._progress = asyncio.Event()

    async def moved_past(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` entries in all have left the journal; False after ``timeout`` s.

        A receiver that waits for this before answering makes the provider's order (the
        next webhook comes after the 200) the order of the rows in the shared database, also
        with several receivers; when the database is slow or away it answers anyway: the
        body is durable in the journal.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.moved < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), remaining)
            except asyncio.TimeoutError:
                return self.moved >= count
        return True

    def wake(self) -> None:
        """There is a new entry (called after an append; never blocks)."""
        self._wake.set()

    def start(self) -> None:
        """Start relaying: first whatever the journal already holds (crash recovery)."""
        if self._task is None or self._task.done():
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self, timeout: float = 5.0) -> None:
        """Relay what is journaled for up to ``timeout`` s, then stop (the rest waits in the journal)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None

    async def _loop(self) -> None:
        backoff = 0.0
        failing = False
        while True:
            self._wake.clear()  # before reading: an append after the read sets it again
            try:
                moved = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # ``retry_on`` from deliver, or the journal file itself failing
                self.failures += 1
                backoff = min(self.max_backoff, backoff * 2 if backoff else self.first_backoff)
                if not failing:
                    logger.warning("Journaled webhooks not recorded (%s: delivery database unavailable); "
                                   "%d held, retrying with backoff up to %.0f s",
                                   type(exc).__name__, len(self.journal), self.max_backoff)
                failing = self.failing = True
                if self._stopping:
                    return
                await asyncio.sleep(backoff)  # an append does not cut the wait short
                continue
            if failing:
                logger.info("Journaled webhooks are recorded again (%d held)", len(self.journal))
                failing = self.failing = False
                backoff = 0.0
            if moved:
                continue  # maybe more behind them
            if self._stopping:
                return
            await self._wake.wait()

    async def relay_once(self) -> int:
        """Move up to :data:`BATCH` oldest entries; returns how many left the journal.

        Raises:
            one of ``retry_on``: the delivery database failed (entries before the failing
            one are removed; it and those after it stay).
        """
        entries = await self.journal.oldest(BATCH)
        done = []
        try:
            for entry in entries:
                try:
                    conversations = await self.deliver(entry.body)
                except self.retry_on:
                    raise
                except Exception as exc:  # never recordable: set aside, do not block the rest
                    logger.error("Journaled webhook %d parked: %s", entry.id, type(exc).__name__)
                    await self.journal.park(entry.id)
                    self.parked += 1
                    self._moved(1)
                    continue
                self.notify(conversations)
                done.append(entry.id)
        finally:
            if done:
                await self.journal.remove(done)
                self.delivered += len(done)
                self._moved(len(done))
        return len(entries)

    def _moved(self, count: int) -> None:
        self.moved += count
        self._progress.set()


__all__ = ["BATCH", "JournalRelay"]

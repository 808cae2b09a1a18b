"""Desk live updates across instances: PostgreSQL LISTEN/NOTIFY on the handoff event log.

Every handoff change is a row of ``majlis_handoff_event`` (the durable log); each
instance's :meth:`bot.handoff.service.HandoffService.flush_events` publishes the rows it
has not published yet to the browsers connected to *it* (server-sent events).  One
process flushes after its own changes only, so an agent signed in on instance A would
not see, until A itself changed something, a customer message that arrived through
instance B.  This module closes that gap:

- after a flush that published new rows, ``NOTIFY majlis_handoff_events, '<newest id>'``;
- every instance ``LISTEN``s on a connection of its own and, told of an id newer than
  what it published, flushes: the rows come from the log, so nothing depends on the
  notification's content, and a lost notification is made good by the next one.

The handoff gate needs no signal: it asks the database (``open_for``) on every message,
under Rasa's per-conversation lock (Redis in production), so the bot is silent on every
instance while an agent owns the conversation.  SQLite (one process): nothing to do.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import psycopg2
import psycopg2.extensions
from sqlalchemy.engine import Engine

from bot.storage import is_sqlite

logger = logging.getLogger(__name__)

CHANNEL = "majlis_handoff_events"
#: Longest pause before listening again after the connection failed.
MAX_BACKOFF_S = 5.0


def _dsn(engine: Engine) -> str:
    url = engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class DeskSignal:
    """Tells the other instances about new handoff events, and listens for theirs.

    Args:
        service: this instance's handoff service (``flush_events``, ``listeners``).
        engine: the handoff database (PostgreSQL).
    """

    def __init__(self, service: Any, engine: Engine) -> None:
        self.service = service
        self.engine = engine
        self.sent = 0
        self.received = 0
        self._announced = 0
        self._listener: Optional[Any] = None
        self._task: Optional[asyncio.Task] = None
        self._woken = asyncio.Event()
        self._newest_heard = 0
        self._stopping = False
        self._broken = False

    # -- telling ---------------------------------------------------------------------

    def _after_flush(self) -> None:
        """``service.listeners`` entry: announce rows this flush published (never blocks)."""
        newest = self.service._last_event_id
        if newest > self._announced and not self._stopping:
            self._announced = newest
            asyncio.get_running_loop().run_in_executor(None, self._notify, newest)

    def _notify(self, newest: int) -> None:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT pg_notify(%(channel)s, %(id)s)", {"channel": CHANNEL, "id": str(newest)})
                conn.commit()
            self.sent += 1
        except Exception as exc:  # the other desks catch up at their next own flush or signal
            logger.warning("Handoff event signal not sent (%s)", type(exc).__name__)

    # -- listening -------------------------------------------------------------------

    def start(self) -> None:
        self.service.listeners.append(self._after_flush)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        if self._after_flush in self.service.listeners:
            self.service.listeners.remove(self._after_flush)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._close_listener()

    async def _run(self) -> None:
        backoff = 0.0
        while not self._stopping:
            try:
                await self._listen()
                backoff = 0.0
                # Signals sent while nobody listened (start, reconnect) are lost: look once.
                await self.service.flush_events()
                while not self._broken:
                    self._woken.clear()
                    if self._newest_heard > self.service._last_event_id:
                        await self.service.flush_events()
                    await self._woken.wait()
                raise ConnectionError("listening connection lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # PostgreSQL restarted: listen again
                self._close_listener()
                backoff = min(MAX_BACKOFF_S, backoff * 2 or 0.2)
                logger.warning("Handoff event signals interrupted (%s); listening again in %.1f s",
                               type(exc).__name__, backoff)
                await asyncio.sleep(backoff)

    async def _listen(self) -> None:
        loop = asyncio.get_running_loop()
        connection = await loop.run_in_executor(None, psycopg2.connect, _dsn(self.engine))
        connection.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        self._listener, self._broken = connection, False
        loop.add_reader(connection.fileno(), self._readable)

    def _readable(self) -> None:
        connection = self._listener
        if connection is None:
            return
        try:
            connection.poll()
        except Exception:  # the connection broke: the loop listens again
            self._close_listener()
            self._broken = True
            self._woken.set()
            return
        while connection.notifies:
            note = connection.notifies.pop(0)
            self.received += 1
            if note.payload.isdigit():
                self._newest_heard = max(self._newest_heard, int(note.payload))
        self._woken.set()

    def _close_listener(self) -> None:
        connection, self._listener = self._listener, None
        if connection is None:
            return
        try:
            asyncio.get_running_loop().remove_reader(connection.fileno())
        except Exception:
            pass
        try:
            connection.close()
        except Exception:
            pass


def attach(service: Any, engine: Engine) -> Optional[DeskSignal]:
    """Start the cross-instance signal for ``service`` on PostgreSQL; None on SQLite (one process)."""
    if is_sqlite(engine):
        return None
    signal = DeskSignal(service, engine)
    signal.start()
    return signal


__all__ = ["CHANNEL", "DeskSignal", "attach"]

"""A receiver's private, durable journal of verified webhook bodies.

Why it exists: a receiver answers the provider only once a webhook is durable.  Writing
it straight into the shared delivery database puts that database's write lock on the
acknowledgement's critical path (on SQLite the Rasa process holds the one write lock for
every delivery transaction, and a saturated machine deschedules it while it does), so the
200 waited ~200 ms at p99.  The journal is a SQLite file that only the receiver process
opens: appending a body takes its own lock, never contended by another process, and one
commit.  :mod:`bot.gateway.relay` then moves entries into the delivery database behind
the answer.

Durability: ``journal_mode=WAL`` with ``synchronous=FULL`` for appends: their commit
fsyncs the WAL, so :meth:`Journal.append` returning means the body is on disk (a power
cut after the 200 cannot lose it; ``NORMAL`` would only survive a process crash).
Removals and parking commit with ``synchronous=NORMAL`` (no fsync of their own; the next
append's fsync covers them): losing one to a power cut only replays an entry the
delivery database deduplicates, and an append queued behind a removal does not wait
for a second fsync.

Automatic checkpoints are off so no acknowledgement pays for one: a checkpointer thread
with its own connection copies the WAL back every :data:`CHECKPOINT_COMMITS` commits,
concurrently with the journal thread's writes (a PASSIVE checkpoint takes no write
lock).  That keeps the WAL short and *reused* from its start: an append then overwrites
blocks the file already has, so its ``fdatasync`` flushes data, not file-size metadata
(measured on this project's disk: append p50 0.5–1.7 ms, p99 2–7 ms, against
1.7–4 ms / 6–10 ms while the WAL keeps growing).  The WAL restarts only when a
checkpoint finishes between two writes; under writes with no gap at all it grows until
the next gap (the file is reused, never truncated).

One thread owns the connection: SQLite calls never block the event loop, the journal's
statements never wait on one another through SQLite's busy handler (which sleeps in
coarse steps), and appends that queue up while a commit is in progress are written in
the next transaction together (group commit: one fsync for all of them).

A lock file (``<journal>.lock``, ``flock``) keeps a second process off the same journal:
two relays would each move the same entries (harmless, but the bound and the logs would
lie).  The kernel releases it when the process dies, also on SIGKILL.

Bodies are personal data: they stay in the file (mode 0600) and are never logged.
"""
from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

logger = logging.getLogger(__name__)

#: Entries held at most before appends are refused (the receiver then answers 503 and
#: the provider retries later); ~100k webhook bodies are a few hundred MB at most.
DEFAULT_LIMIT = 100_000
#: Journal file name under ``MAJLIS_DATA_DIR`` when no path is configured.
DEFAULT_NAME = "whatsapp_receiver_journal.sqlite"
#: Largest number of appends written in one transaction (group commit).
MAX_GROUP = 256
#: Commits between two checkpoints (a commit adds a page or two: the WAL stays ~0.5 MB).
CHECKPOINT_COMMITS = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at REAL NOT NULL,
    body BLOB NOT NULL,
    parked INTEGER NOT NULL DEFAULT 0
)
"""


class JournalFull(Exception):
    """The journal holds :attr:`Journal.limit` entries: refuse, so the provider retries."""


class JournalInUse(Exception):
    """Another process has the journal open."""


@dataclass(frozen=True)
class Entry:
    """One journaled webhook body."""

    id: int
    body: bytes
    received_at: float


class Journal:
    """Append-only log of webhook bodies in a private SQLite file.

    Args:
        path: the SQLite file (created with its directory).
        limit: entries held at most (:class:`JournalFull` beyond).

    Use from one event loop: :meth:`open`, then :meth:`append` (request path),
    :meth:`oldest` / :meth:`remove` / :meth:`park` (the relay), :meth:`close`.
    """

    def __init__(self, path: str, *, limit: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.limit = limit
        self._held = 0  # entries on disk plus appends in flight (reserved before writing)
        # (work, future, is_append) for the journal thread; None stops it.
        self._requests: "queue.SimpleQueue[Optional[Tuple[Callable[[sqlite3.Connection], Any], asyncio.Future, bool]]]" = (
            queue.SimpleQueue())
        self._thread: Optional[threading.Thread] = None
        self._lock_fd: Optional[int] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.commits = 0
        self.appended = 0
        self._fsyncing = True  # the connection's synchronous setting: FULL
        self._checkpoint_due = threading.Event()
        self._checkpoint_stop = False
        self.checkpoints = 0

    def __len__(self) -> int:
        """Entries held (including appends being written)."""
        return self._held

    @property
    def is_open(self) -> bool:
        """Whether appends are accepted (between :meth:`open` and :meth:`close`)."""
        return self._thread is not None and self._thread.is_alive()

    # -- life cycle ------------------------------------------------------------------

    async def open(self) -> int:
        """Open (create) the file; returns how many entries it already holds.

        Raises:
            JournalInUse: another process holds the journal.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(self.path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise JournalInUse(f"{self.path} is used by another process") from None
        self._lock_fd = fd
        self._loop = asyncio.get_running_loop()
        ready: "asyncio.Future[int]" = self._loop.create_future()
        self._thread = threading.Thread(target=self._serve, args=(ready,), name="journal", daemon=True)
        self._thread.start()
        self._held = await ready
        return self._held

    async def close(self) -> None:
        """Finish queued work, close the file, release the lock."""
        if self._thread is not None:
            self._requests.put(None)
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
            self._thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- operations --------------------------------------------------------------------

    async def append(self, body: bytes) -> None:
        """Write ``body`` durably; returns once it is committed and fsynced.

        Raises:
            JournalFull: the journal holds :attr:`limit` entries.
            sqlite3.Error, OSError: the file cannot be written (disk full, ...).
        """
        if self._held >= self.limit:
            raise JournalFull(f"{self._held} entries held (limit {self.limit})")
        self._held += 1  # reserved now, so concurrent appends cannot overshoot the limit
        written = self._call(lambda db: db.execute(
            "INSERT INTO journal (received_at, body) VALUES (?, ?)", (time.time(), body)), group=True)
        written.add_done_callback(self._appended)
        # Shielded: a request cancelled meanwhile (client gone) still ends with the row
        # written or not, and the count follows what happened on disk.
        await asyncio.shield(written)

    def _appended(self, written: "asyncio.Future[Any]") -> None:
        if written.cancelled() or written.exception() is not None:
            self._held -= 1
        else:
            self.appended += 1

    async def oldest(self, limit: int) -> List[Entry]:
        """Up to ``limit`` entries, oldest first (parked ones excluded)."""
        rows = await self._call(lambda db: db.execute(
            "SELECT id, body, received_at FROM journal WHERE parked = 0 ORDER BY id LIMIT ?", (limit,)).fetchall())
        return [Entry(int(i), bytes(b), float(t)) for i, b, t in rows]

    async def remove(self, ids: Sequence[int]) -> None:
        """Delete entries that reached the delivery database."""
        if not ids:
            return
        ids = list(ids)

        def delete(db: sqlite3.Connection) -> int:
            removed = 0
            for start in range(0, len(ids), 500):  # SQLite's host-parameter limit
                chunk = ids[start:start + 500]
                removed += db.execute(
                    f"DELETE FROM journal WHERE id IN ({','.join('?' * len(chunk))})", chunk).rowcount
            return removed

        removed = await self._call(delete)
        self._held -= removed

    async def park(self, entry_id: int) -> None:
        """Set an entry aside that can never be recorded (kept for inspection, not retried)."""
        await self._call(lambda db: db.execute("UPDATE journal SET parked = 1 WHERE id = ?", (entry_id,)))

    async def parked(self) -> int:
        """How many entries are parked."""
        return int((await self._call(lambda db: db.execute(
            "SELECT COUNT(*) FROM journal WHERE parked = 1").fetchone()))[0])

    # -- the journal thread --------------------------------------------------------------

    def _call(self, work: Callable[[sqlite3.Connection], Any], *, group: bool = False) -> "asyncio.Future[Any]":
        if self._thread is None or self._loop is None:
            raise RuntimeError("journal not open")
        future = self._loop.create_future()
        self._requests.put((work, future, group))
        return future

    def _connect(self) -> sqlite3.Connection:
        # Autocommit driver mode: transactions are begun explicitly below.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        os.chmod(self.path, 0o600)  # webhook bodies are personal data
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a commit is on disk: see the module docstring
        db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does them, off the append path
        db.execute(_SCHEMA)
        return db

    def _serve(self, ready: "asyncio.Future[int]") -> None:
        try:
            db = self._connect()
            held = int(db.execute("SELECT COUNT(*) FROM journal").fetchone()[0])
        except BaseException as exc:  # report to open(), then stop
            self._resolve(ready, exc=exc)
            return
        self._resolve(ready, held)
        checkpointer = threading.Thread(target=self._checkpoints, name="journal-checkpoint", daemon=True)
        checkpointer.start()
        checkpointed_at = 0
        try:
            while True:
                # Right after the commit that makes one due, while the journal waits for work:
                # the checkpoint then runs in the gap before the next write and can finish.
                if self.commits - checkpointed_at >= CHECKPOINT_COMMITS:
                    self._checkpoint_due.set()
                    checkpointed_at = self.commits
                request = self._requests.get()
                if request is None:
                    return
                work, future, group = request
                if not group:
                    self._durable(db, False)
                    self._run(db, [(work, future)])
                    continue
                # Group commit: take the appends that queued up meanwhile into this transaction.
                batch = [(work, future)]
                deferred = None
                while len(batch) < MAX_GROUP:
                    try:
                        more = self._requests.get_nowait()
                    except queue.Empty:
                        break
                    if more is not None and more[2]:
                        batch.append((more[0], more[1]))
                    else:
                        deferred = (more,)
                        break
                self._durable(db, True)
                self._run(db, batch)
                if deferred is not None:  # a non-append request (or the stop) found while grouping
                    if deferred[0] is None:
                        return
                    self._durable(db, False)
                    self._run(db, [(deferred[0][0], deferred[0][1])])
        finally:
            db.close()
            self._checkpoint_stop = True
            self._checkpoint_due.set()
            checkpointer.join()

    def _run(self, db: sqlite3.Connection, batch: List[Tuple[Callable[[sqlite3.Connection], Any], asyncio.Future]]) -> None:
        results: List[Any] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                for work, _future in batch:
                    results.append(work(db))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except Exception as exc:
            for _work, future in batch:
                self._resolve(future, exc=exc)
            return
        self.commits += 1
        for (_work, future), result in zip(batch, results):
            self._resolve(future, result)

    def _durable(self, db: sqlite3.Connection, durable: bool) -> None:
        # Appends fsync (FULL); removals need not (NORMAL): see the module docstring.
        if durable != self._fsyncing:
            db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._fsyncing = durable

    def _checkpoints(self) -> None:
        # Its own connection, so appends go on during a checkpoint; the journal thread's
        # next transaction after a complete one restarts the WAL from its beginning.
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=True)
        try:
            while True:
                self._checkpoint_due.wait()
                self._checkpoint_due.clear()
                if self._checkpoint_stop:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.checkpoints += 1
                except sqlite3.Error:
                    logger.debug("Journal checkpoint skipped", exc_info=True)
        finally:
            db.close()

    def _resolve(self, future: asyncio.Future, result: Any = None, *, exc: Optional[BaseException] = None) -> None:
        def settle() -> None:
            if future.done():
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)

        assert self._loop is not None
        self._loop.call_soon_threadsafe(settle)


__all__ = ["DEFAULT_LIMIT", "DEFAULT_NAME", "Entry", "Journal", "JournalFull", "JournalInUse"]

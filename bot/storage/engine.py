"""The SQLAlchemy engine factory for Majlis' own tables.

One engine per database URL per process (:func:`get_engine`).  SQLite is the
default (``bot.config.database_url()``, a file under ``MAJLIS_DATA_DIR``);
PostgreSQL is used in production (``MAJLIS_DATABASE_URL=postgresql://...``).

SQLAlchemy 1.4 (pinned by Rasa 3.6) is used synchronously; async callers go
through :func:`run_sync`-style executors owned by the stores, never block the
event loop.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import QueuePool, StaticPool

from bot.config import database_url

logger = logging.getLogger(__name__)

#: Seconds SQLite waits for a lock held by another connection before failing.
SQLITE_BUSY_TIMEOUT_S = 30

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()


def is_sqlite(engine: Engine) -> bool:
    """True when ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: WAL (readers don't block the writer), FKs on.

    The driver's own transaction handling is switched off (it would not BEGIN
    before DDL, so a failed migration could stay half applied); :func:`_sqlite_begin`
    starts every transaction instead.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    finally:
        cursor.close()


#: Execution option of a connection that only reads (:func:`read_only`).
READ_ONLY = "majlis_read_only"


def _sqlite_begin(conn: Any) -> None:
    """BEGIN IMMEDIATE: take the write lock up front, so a transaction that reads and
    then writes never fails on a snapshot another writer changed (SQLITE_BUSY).

    A read-only connection (:func:`read_only`) begins a deferred transaction instead:
    with WAL it reads a snapshot without ever taking, or waiting for, the write lock.
    """
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def read_only(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it never holds the write lock a writer waits for."""
    return engine.connect().execution_options(**{READ_ONLY: True})


def create_engine(url: Optional[str] = None, **kwargs: Any) -> Engine:
    """Create a new engine (callers normally want the shared :func:`get_engine`).

    Args:
        url: an SQLAlchemy URL; defaults to ``bot.config.database_url()``.
        **kwargs: passed to :func:`sqlalchemy.create_engine`.

    Returns:
        The engine. SQLite file databases get WAL mode, a busy timeout and a small
        connection pool usable from worker threads; ``sqlite://`` (in memory) gets a
        single shared connection so every thread sees the same database.
    """
    url = url or database_url()
    parsed = make_url(url)
    # An SQL error's text lists the statement's parameters: customers' numbers and
    # messages, which would reach the logs with the traceback (no personal data in logs).
    options: Dict[str, Any] = {"future": True, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_S}
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool
        else:
            options.update(poolclass=QueuePool, pool_size=5, max_overflow=5)
    else:
        options.update(pool_pre_ping=True, pool_size=5, max_overflow=5)
    options.update(kwargs)
    engine = sa.create_engine(url, **options)
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    logger.debug("Created database engine for backend %s", parsed.get_backend_name())
    return engine


def get_engine(url: Optional[str] = None) -> Engine:
    """The process-wide engine for ``url`` (default: ``bot.config.database_url()``)."""
    url = url or database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, shutdown)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()

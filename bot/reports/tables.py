"""The report tables: one row per conversation and per handoff, filled by the builder.

A year of traffic is millions of tracker events but tens of thousands of
conversations: the page reads these rows (indexed by local day), never the events.
Times are naive UTC like every Majlis table; ``local_day``/``local_hour`` are in the
report time zone (``MAJLIS_REPORT_TZ``), computed once when the row is written.

The tables are defined with every other Majlis table in :mod:`bot.storage.schema` and
created by Alembic revisions 0006 and 0010 (the per-day rollup); :func:`create_report_tables` only makes sure the
database is migrated (the builder may be the first to touch a database).
"""
from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.storage import migrate
from bot.storage.schema import report_conversation, report_cursor, report_day, report_dirty_day, report_handoff

__all__ = ["create_report_tables", "report_conversation", "report_cursor", "report_day", "report_dirty_day",
           "report_handoff"]


def create_report_tables(engine: Engine) -> None:
    """Bring the database to the newest revision, which has the report tables (idempotent)."""
    migrate(engine)

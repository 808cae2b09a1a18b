"""The report tables: one row per conversation and per handoff, filled by the builder.

A year of traffic is millions of tracker events but tens of thousands of
conversations: the page reads these rows (indexed by local day), never the events.
Times are naive UTC like every Majlis table; ``local_day``/``local_hour`` are in the
report time zone (``MAJLIS_REPORT_TZ``), computed once when the row is written.

:func:`create_report_tables` is the only DDL here (``CREATE TABLE IF NOT EXISTS``);
it is meant to move into the Alembic revisions of ``bot.storage``.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

report_cursor = sa.Table(
    "majlis_report_cursor",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

report_conversation = sa.Table(
    "majlis_report_conversation",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("last_at", sa.DateTime, nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("local_hour", sa.Integer, nullable=False),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("form", sa.String(16), nullable=False),
    sa.Column("dialect", sa.String(32), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("intent", sa.String(100), nullable=False),
    sa.Column("messages_in", sa.Integer, nullable=False, default=0),
    sa.Column("messages_out", sa.Integer, nullable=False, default=0),
    sa.Column("fallbacks", sa.Integer, nullable=False, default=0),
    sa.Column("handed_off", sa.Boolean, nullable=False, default=False),
    sa.Column("handoff_reason", sa.String(64), nullable=True),
    sa.Column("lost_window", sa.Boolean, nullable=False, default=False),
    sa.Column("rating", sa.Integer, nullable=True),
    # a newer Rasa session of the same sender starts a new row
    sa.Column("ended", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_majlis_report_conversation_day", "local_day"),
    sa.Index("ix_majlis_report_conversation_sender", "sender_id", "started_at"),
)

report_handoff = sa.Table(
    "majlis_report_handoff",
    metadata,
    sa.Column("handoff_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("conversation_id", sa.BigInteger, nullable=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("local_day", sa.Date, nullable=False),
    sa.Column("wait_s", sa.Float, nullable=True),
    sa.Column("first_response_s", sa.Float, nullable=True),
    sa.Column("handling_s", sa.Float, nullable=True),
    sa.Column("rating", sa.Integer, nullable=True),
    sa.Index("ix_majlis_report_handoff_day", "local_day"),
    sa.Index("ix_majlis_report_handoff_unlinked", "conversation_id"),
)


def create_report_tables(engine: Engine) -> None:
    """The report tables' DDL (idempotent).  To be moved into an Alembic revision."""
    metadata.create_all(engine, checkfirst=True)

"""The workbench's own tables, and the one function that creates them.

:func:`create_workbench_tables` holds all of the workbench's DDL so it can move as is
into a migration revision (it is called from ``bot.storage.migrations`` step 4).

- ``majlis_nlu_message``: one row per customer message seen in the tracker store,
  with what the model understood, why it deserves a look (``reasons``, a bit set:
  :mod:`bot.workbench.reasons`) and its similarity group.  The inbox is a GROUP BY
  over this table, never a scan of the tracker store.
- ``majlis_nlu_group``: a similarity group (its MinHash signature) and ``majlis_nlu_band``
  the LSH bands that find a message's group without comparing it with every group.
- ``majlis_nlu_cursor``: how far the collector read the tracker store (events.id).
- ``majlis_nlu_audit``: who labelled what, when, and what was written where.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

metadata = sa.MetaData()

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_REF = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

nlu_message = sa.Table(
    "majlis_nlu_message",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("event_id", _REF, nullable=False),          # events.id in the tracker store
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),            # as the customer wrote it
    sa.Column("key", sa.String(500), nullable=False),      # normalised as the NLU does (for grouping, duplicates)
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("form", sa.String(16), nullable=False),
    sa.Column("dialect", sa.String(16), nullable=True),
    sa.Column("transliteration", sa.Text, nullable=True),
    sa.Column("intent", sa.String(100), nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("ranking", sa.Text, nullable=False),         # JSON: the top intents with confidences
    sa.Column("entities", sa.Text, nullable=False),        # JSON: what the model extracted
    sa.Column("names", sa.Text, nullable=False),           # JSON: the customer's profile names (to mask them)
    sa.Column("reasons", sa.Integer, nullable=False, default=0),
    sa.Column("group_id", _REF, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),          # when the customer wrote it (UTC)
    sa.Column("status", sa.String(16), nullable=False, default="open"),  # open | labelled | ignored
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("labelled_by", sa.String(120), nullable=True),
    sa.Column("labelled_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("event_id", name="uq_majlis_nlu_message_event"),
    # The inbox reads only open messages with a reason: a partial index holding exactly those,
    # covering the GROUP BY and every filter, so a query never reads the table's rows.
    sa.Index("ix_majlis_nlu_message_inbox", "group_id", "reasons", "at", "form", "language", "channel", "intent",
             "status", "id", sqlite_where=sa.text("status = 'open' AND reasons != 0"),
             postgresql_where=sa.text("status = 'open' AND reasons != 0")),
    sa.Index("ix_majlis_nlu_message_group", "group_id"),
    sa.Index("ix_majlis_nlu_message_sender", "sender_id", "id"),
)

nlu_group = sa.Table(
    "majlis_nlu_group",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("signature", sa.Text, nullable=False),       # MinHash values of its representative wordings (";")
    sa.Column("key", sa.String(500), nullable=False),      # the first member's key
)

nlu_band = sa.Table(
    "majlis_nlu_band",
    metadata,
    sa.Column("band", sa.String(40), primary_key=True),
    sa.Column("group_id", _REF, primary_key=True),
)

nlu_cursor = sa.Table(
    "majlis_nlu_cursor",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_event_id", _REF, nullable=False),
)

nlu_audit = sa.Table(
    "majlis_nlu_audit",
    metadata,
    sa.Column("id", _PK, primary_key=True, autoincrement=True),
    sa.Column("author", sa.String(120), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),    # label | ignore | out_of_scope | conflict | train | activate
    sa.Column("intent", sa.String(100), nullable=True),
    sa.Column("text", sa.Text, nullable=True),             # what was written (personal data already replaced)
    sa.Column("path", sa.String(255), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Index("ix_majlis_nlu_audit_at", "at"),
)


def create_workbench_tables(conn: Connection) -> None:
    """All of the workbench's DDL (migration step 4; move as is into an Alembic revision)."""
    metadata.create_all(conn, tables=[nlu_message, nlu_group, nlu_band, nlu_cursor, nlu_audit])

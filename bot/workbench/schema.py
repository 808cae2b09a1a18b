"""The workbench's own tables, and the one function that creates them.

Defined with every other Majlis table in :mod:`bot.storage.schema` and created by the
Alembic revision 0005 (bot/storage/alembic/versions); named here for the workbench's code.

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

from bot.storage.schema import nlu_audit, nlu_band, nlu_cursor, nlu_group, nlu_message

__all__ = ["nlu_audit", "nlu_band", "nlu_cursor", "nlu_group", "nlu_message"]

"""Reports for people: bot and agents measured together, from stored events.

- :mod:`bot.reports.tables`: the pre-aggregated tables (one row per conversation and
  per handoff), created by Alembic revision 0006 of bot.storage;
- :mod:`bot.reports.builder`: folds new tracker events, handoff events and skipped
  (window-closed) outbox rows into those tables, incrementally;
- :mod:`bot.reports.figures`: the figures of the report page, from those tables, with
  a date range and filters;
- :mod:`bot.reports.routes`: the desk's report page, its JSON and its CSV export.
"""

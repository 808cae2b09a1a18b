"""Majlis' own database: engine factory, schema migrations (Alembic), storage ports.

Usage::

    from bot.storage import get_engine, migrate
    engine = get_engine()          # bot.config.database_url()
    migrate(engine)                # idempotent
"""
from bot.storage.engine import create_engine, dispose_engines, get_engine, is_sqlite
from bot.storage.migrations import applied_versions, head, migrate

__all__ = [
    "applied_versions",
    "create_engine",
    "dispose_engines",
    "get_engine",
    "head",
    "is_sqlite",
    "migrate",
]

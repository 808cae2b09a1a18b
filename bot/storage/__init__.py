"""Majlis' own database: engine factory and schema migrations.

Usage::

    from bot.storage import get_engine, migrate
    engine = get_engine()          # bot.config.database_url()
    migrate(engine)                # idempotent
"""
from bot.storage.engine import create_engine, dispose_engines, get_engine, is_sqlite
from bot.storage.migrations import MIGRATIONS, Migration, applied_versions, migrate

__all__ = [
    "MIGRATIONS",
    "Migration",
    "applied_versions",
    "create_engine",
    "dispose_engines",
    "get_engine",
    "is_sqlite",
    "migrate",
]

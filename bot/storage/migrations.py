"""Schema migrations of Majlis' own tables, kept with Alembic and run at start-up.

The revisions live in ``bot/storage/alembic/versions``; :func:`migrate` applies the
missing ones, in one transaction, on SQLite and PostgreSQL.  It is idempotent and
safe when several processes start at once: on PostgreSQL a transaction-scoped
advisory lock lets one process migrate while the others wait and then find nothing
to do; on SQLite ``BEGIN IMMEDIATE`` (bot.storage.engine) does the same.

Databases built by the hand-written migrator this replaced (a ``majlis_schema_migrations``
table with versions 1-3) are converted: stamped at the matching revision, the old
table dropped, the newer revisions applied.

To change the schema: edit :mod:`bot.storage.schema`, then add a revision
(``python -m bot.storage revision -m "what changes"`` writes the file with
the differences Alembic sees; review it).  ``tests/bot/storage/test_migrations.py``
fails while the two disagree.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, List, Optional, Sequence

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

#: Alembic's version table, named so it never meets another application's in a shared database.
VERSION_TABLE = "majlis_alembic_version"
#: The hand-written migrator's table (converted, then dropped).
LEGACY_TABLE = "majlis_schema_migrations"
#: Arbitrary constant identifying Majlis' migration lock among PostgreSQL advisory locks.
_PG_LOCK_ID = 0x4D414A4C  # "MAJL"
#: The revision the old migrator's versions reached: {1, 2} → 0001, {1, 2, 3} → 0002.
_LEGACY_REVISION = {frozenset({1, 2}): "0001", frozenset({1, 2, 3}): "0002"}

_SCRIPTS = Path(__file__).resolve().parent / "alembic"


def alembic_config(connection: Optional[Connection] = None) -> Config:
    """Alembic's configuration for Majlis' revisions (no ``alembic.ini``: everything is here)."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def ours(name: Optional[str], kind: str, _parents: Any = None) -> bool:
    """Alembic's filter: only Majlis' tables (a shared database may hold Rasa's tracker store too)."""
    return kind != "table" or bool(name and name.startswith("majlis_") and name != VERSION_TABLE)


def _context(conn: Connection) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "include_name": ours})


def _current(conn: Connection) -> Optional[str]:
    return _context(conn).get_current_revision()


def differences(conn: Connection) -> List[Any]:
    """What Alembic would generate to make the database match :mod:`bot.storage.schema` (empty: they agree)."""
    from alembic.autogenerate import compare_metadata

    from bot.storage.schema import metadata

    return list(compare_metadata(_context(conn), metadata))


def _convert_legacy(conn: Connection) -> None:
    """Stamp a database of the old migrator at the revision its versions match; drop its table."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(LEGACY_TABLE) or inspector.has_table(VERSION_TABLE):
        return
    versions = frozenset(conn.execute(sa.text(f"SELECT version FROM {LEGACY_TABLE}")).scalars())
    revision = _LEGACY_REVISION.get(versions)
    if revision is not None:
        command.stamp(alembic_config(conn), revision)
    # Anything else (an interrupted old upgrade) runs every revision: they skip what exists.
    logger.info("Converted the old schema version table (versions %s) to Alembic revision %s",
                sorted(versions), revision or "none")
    conn.execute(sa.text(f"DROP TABLE {LEGACY_TABLE}"))


def migrate(engine: Engine) -> List[str]:
    """Bring the database behind ``engine`` to the newest revision.

    Returns:
        The revisions applied by this call, oldest first (empty when it was current).
    """
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        _convert_legacy(conn)
        before = _current(conn)
        target = head()
        if before == target:
            return []
        script = ScriptDirectory.from_config(alembic_config())
        applied = [r.revision for r in script.iterate_revisions(target, before or "base")][::-1]
        logger.info("Applying schema revisions %s", ", ".join(applied))
        command.upgrade(alembic_config(conn), target)
    return applied


def applied_versions(engine: Engine) -> List[str]:
    """The revisions applied to the database behind ``engine``, oldest first (empty: none)."""
    with engine.connect() as conn:
        current = _current(conn)
    if current is None:
        return []
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in script.iterate_revisions(current, "base")][::-1]

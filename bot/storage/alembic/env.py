"""Alembic environment of Majlis' own tables: always run through :func:`bot.storage.migrate`.

The caller hands over a connection already inside a transaction (and, on
PostgreSQL, holding the migration lock), so every revision of one run commits or
rolls back together.
"""
from alembic import context

from bot.storage.migrations import VERSION_TABLE, ours
from bot.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run Majlis' migrations with bot.storage.migrate(engine) (python -m bot.storage upgrade)")

context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE, include_name=ours)
with context.begin_transaction():
    context.run_migrations()

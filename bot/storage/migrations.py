"""Versioned schema migrations for Majlis' own tables.

Each migration runs once per database, in version order, inside one transaction,
and is recorded in ``majlis_schema_migrations``.  To change the schema, append a
new :class:`Migration` (never edit an applied one) and update
:mod:`bot.storage.schema` to the resulting shape.  On PostgreSQL an advisory lock
serialises processes that start at the same time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.storage import schema

logger = logging.getLogger(__name__)

#: Arbitrary constant identifying Majlis' migration lock among PostgreSQL advisory locks.
_PG_LOCK_ID = 0x4D414A4C  # "MAJL"


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration:
    """One schema change: ``apply`` receives a connection inside a transaction."""

    version: int
    name: str
    apply: Callable[[Connection], None]


def _v1_delivery_tables(conn: Connection) -> None:
    """Durable inbox/outbox, message statuses, customer-service windows."""
    schema.metadata.create_all(
        conn,
        tables=[schema.inbox, schema.outbox, schema.message_status, schema.contact_window],
    )


def _v2_handoff_tables(conn: Connection) -> None:
    """Handoffs, their messages and events, agents, sessions, API tokens, webhook deliveries."""
    schema.metadata.create_all(
        conn,
        tables=[
            schema.agent,
            schema.agent_session,
            schema.api_token,
            schema.handoff,
            schema.handoff_message,
            schema.handoff_event,
            schema.webhook_delivery,
        ],
    )


#: Channels whose sender ids became ``<channel>:<provider id>`` (bot/identity.py).
_NAMESPACED_CHANNELS = ("whatsapp_cloud", "twilio_whatsapp", "instagram", "webchat")


def _v3_namespaced_handoff_customers(conn: Connection) -> None:
    """Handoffs name the customer by Rasa's sender id, now namespaced: prefix the older bare ids.

    Only Majlis' handoff rows need it: the delivery, status, window and entry-source
    tables keep the bare provider id beside their channel column.
    """
    handoff = schema.handoff
    for channel in _NAMESPACED_CHANNELS:
        prefix = f"{channel}:"
        conn.execute(
            handoff.update()
            .where(handoff.c.channel == channel, ~handoff.c.customer.startswith(prefix, autoescape=True))
            .values(customer=sa.literal(prefix) + handoff.c.customer)
        )
        # The one-open-handoff key is "<channel> <customer>": rebuild it from the new customer.
        conn.execute(
            handoff.update()
            .where(handoff.c.channel == channel, handoff.c.active_key.isnot(None))
            .values(active_key=sa.literal(f"{channel} ") + handoff.c.customer)
        )


def _v4_workbench_tables(conn: Connection) -> None:
    """The trainer's workbench: message index, similarity groups, cursor, audit (bot/workbench/schema.py)."""
    from bot.workbench.schema import create_workbench_tables

    create_workbench_tables(conn)


MIGRATIONS: Sequence[Migration] = (
    Migration(version=1, name="delivery tables", apply=_v1_delivery_tables),
    Migration(version=2, name="handoff and agent desk tables", apply=_v2_handoff_tables),
    Migration(version=3, name="namespaced customer ids in handoffs", apply=_v3_namespaced_handoff_customers),
    Migration(version=4, name="trainer's workbench tables", apply=_v4_workbench_tables),
)


def applied_versions(engine: Engine) -> List[int]:
    """Versions already applied to the database behind ``engine``."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(schema.schema_migrations.name):
            return []
        rows = conn.execute(sa.select(schema.schema_migrations.c.version)).scalars()
        return sorted(rows)


def migrate(engine: Engine, migrations: Sequence[Migration] = MIGRATIONS) -> List[int]:
    """Apply every migration not yet applied.

    Args:
        engine: the database to migrate.
        migrations: the migrations to consider (tests pass their own).

    Returns:
        The versions applied by this call (empty when the schema was current).
    """
    applied_now: List[int] = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        schema.metadata.create_all(conn, tables=[schema.schema_migrations])
        done = set(conn.execute(sa.select(schema.schema_migrations.c.version)).scalars())
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            logger.info("Applying schema migration %d (%s)", migration.version, migration.name)
            migration.apply(conn)
            conn.execute(
                schema.schema_migrations.insert().values(
                    version=migration.version,
                    name=migration.name,
                    applied_at=datetime.now(timezone.utc).replace(tzinfo=None),
                )
            )
            applied_now.append(migration.version)
    return applied_now

"""Schema migrations (bot/storage/migrations.py) on SQLite and PostgreSQL."""
from __future__ import annotations

import sqlalchemy as sa

from bot.storage import MIGRATIONS, Migration, applied_versions, migrate
from bot.storage.schema import metadata

LATEST = max(m.version for m in MIGRATIONS)


def test_fresh_database_gets_every_migration_once(engine):
    assert applied_versions(engine) == [m.version for m in MIGRATIONS]
    assert migrate(engine) == []  # idempotent
    tables = set(sa.inspect(engine).get_table_names())
    assert {"majlis_inbox", "majlis_outbox", "majlis_message_status", "majlis_contact_window"} <= tables


def test_new_migration_is_applied_in_order_and_recorded(engine):
    calls = []

    def add_column(conn):
        calls.append("new")
        conn.execute(sa.text("ALTER TABLE majlis_contact_window ADD COLUMN note VARCHAR(20)"))

    extra = [*MIGRATIONS, Migration(version=LATEST + 1, name="note", apply=add_column)]
    assert migrate(engine, extra) == [LATEST + 1]
    assert migrate(engine, extra) == []
    assert calls == ["new"]
    columns = {c["name"] for c in sa.inspect(engine).get_columns("majlis_contact_window")}
    assert "note" in columns
    assert applied_versions(engine) == [*range(1, LATEST + 2)]


def test_failed_migration_leaves_nothing_half_applied(engine):
    def broken(conn):
        conn.execute(sa.text("CREATE TABLE majlis_half (id INTEGER)"))
        raise RuntimeError("boom")

    try:
        migrate(engine, [*MIGRATIONS, Migration(version=LATEST + 1, name="broken", apply=broken)])
    except RuntimeError:
        pass
    assert applied_versions(engine) == [*range(1, LATEST + 1)]
    assert "majlis_half" not in sa.inspect(engine).get_table_names()


def test_empty_database_has_no_versions(tmp_path):
    from bot.storage import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    assert applied_versions(engine) == []
    metadata.drop_all(engine)


async def test_handoffs_stored_with_bare_sender_ids_are_namespaced(tmp_path):
    """Migration 3: handoff rows of the customer channels name the customer by ``<channel>:<id>``,
    so a conversation handed off before the upgrade stays attached to its handoff."""
    from datetime import datetime

    from bot.handoff.store import HandoffStore
    from bot.storage import create_engine
    from bot.storage.schema import handoff

    engine = create_engine(f"sqlite:///{tmp_path / 'legacy.sqlite'}")
    migrate(engine, [m for m in MIGRATIONS if m.version <= 2])
    now = datetime(2026, 11, 1, 12, 0)
    rows = [("a1", "whatsapp_cloud", "971501234567", "whatsapp_cloud 971501234567"),
            ("a2", "instagram", "1784000111", None),
            ("a3", "rest", "me", "rest me"),
            ("a4", "webchat", "webchat:already", "webchat webchat:already")]
    with engine.begin() as conn:
        for public_id, channel, customer, key in rows:
            conn.execute(handoff.insert().values(
                public_id=public_id, channel=channel, customer=customer, active_key=key,
                state="queued" if key else "bot", queue="general", language="ar", priority=2, reason="x",
                version=1, context="{}", created_at=now))
    assert migrate(engine) == [m.version for m in MIGRATIONS if m.version > 2]
    with engine.connect() as conn:
        found = {r.public_id: (r.customer, r.active_key) for r in conn.execute(sa.select(handoff))}
    assert found == {"a1": ("whatsapp_cloud:971501234567", "whatsapp_cloud whatsapp_cloud:971501234567"),
                     "a2": ("instagram:1784000111", None),
                     "a3": ("me", "rest me"),  # not a namespaced channel: untouched
                     "a4": ("webchat:already", "webchat webchat:already")}
    store = HandoffStore(engine)
    assert (await store.open_for("whatsapp_cloud", "whatsapp_cloud:971501234567")).public_id == "a1"
    engine.dispose()

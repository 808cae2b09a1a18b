"""Schema migrations (Alembic, bot/storage/alembic) on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
import sqlalchemy as sa

from bot.storage import applied_versions, create_engine, head, migrate
from bot.storage.migrations import LEGACY_TABLE, VERSION_TABLE, differences
from bot.storage.schema import metadata
from tests.bot.storage import legacy_schema as legacy
from tests.bot.storage.backends import create_pg_database, drop_pg_database

REVISIONS = ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010"]


@pytest.fixture(params=["sqlite", "postgresql"])
def blank(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """An engine on a database with nothing in it (PostgreSQL: its own, dropped afterwards)."""
    url = f"sqlite:///{tmp_path / 'blank.sqlite'}" if request.param == "sqlite" else create_pg_database()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
        if request.param == "postgresql":
            drop_pg_database(url)


def tables(engine: sa.engine.Engine) -> set:
    return set(sa.inspect(engine).get_table_names())


def test_fresh_database_gets_every_revision_once_and_every_table(blank):
    assert applied_versions(blank) == []
    assert migrate(blank) == REVISIONS
    assert migrate(blank) == []  # idempotent
    assert applied_versions(blank) == REVISIONS and head() == REVISIONS[-1]
    # every table of the schema, the channels' per-conversation ones included, comes from a migration
    assert tables(blank) == set(metadata.tables) | {VERSION_TABLE}
    assert {"majlis_contact_address", "majlis_takeover", "majlis_entry_source"} <= tables(blank)


def test_the_migrations_build_exactly_the_schema_the_code_describes(blank):
    """bot/storage/schema.py and the revisions agree: Alembic sees nothing left to generate."""
    migrate(blank)
    with blank.connect() as conn:
        assert differences(conn) == []


def test_two_processes_starting_at_once_migrate_once(blank):
    """Two instances start together: one applies the revisions, the other waits and finds them applied."""
    other = create_engine(str(blank.url))
    results, errors = [], []
    barrier = threading.Barrier(2)

    def start(engine):
        barrier.wait()
        try:
            results.append(migrate(engine))
        except Exception as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in (blank, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.dispose()
    assert errors == []
    assert sorted(results) == [[], REVISIONS]
    assert applied_versions(blank) == REVISIONS


def build_legacy(engine: sa.engine.Engine, versions) -> None:
    """A database as the hand-written migrator and the channels' first use left it."""
    legacy.metadata.create_all(engine)
    now = datetime(2026, 11, 1, 12, 0)
    with engine.begin() as conn:
        conn.execute(legacy.schema_migrations.insert(),
                     [{"version": v, "name": f"v{v}", "applied_at": now} for v in versions])
        conn.execute(legacy.inbox.insert().values(
            channel="whatsapp_cloud", message_id="wamid.1", account="acc", customer="971501234567",
            payload='{"text": "مرحبا"}', received_at=now, opens_window=True, state="processing", attempts=1,
            accept_token="t"))
        conn.execute(legacy.contact_address.insert().values(
            channel="whatsapp_cloud", account="acc", customer="971501234567", kind="phone",
            address="971501234567", updated_at=now))
        conn.execute(legacy.takeover.insert().values(
            channel="instagram", account="ig", customer="1784000111", state="human", reason="instagram_inbox_echo",
            since=now))
        conn.execute(legacy.entry_source.insert().values(
            channel="whatsapp_cloud", customer="971501234567", ref="snap-ramadan", source="snapchat", first_seen_at=now))
        conn.execute(legacy.handoff.insert().values(
            public_id="h1", channel="whatsapp_cloud", customer="971501234567" if 3 not in versions
            else "whatsapp_cloud:971501234567", active_key="whatsapp_cloud whatsapp_cloud:971501234567"
            if 3 in versions else "whatsapp_cloud 971501234567", state="queued", queue="general", language="ar",
            priority=2, reason="x", version=1, context="{}", created_at=now))


def test_a_database_of_the_old_migrator_is_converted_and_keeps_its_rows(blank):
    build_legacy(blank, [1, 2, 3])
    assert migrate(blank) == REVISIONS[2:]  # stamped at 0002 (= old version 3), then the new revisions
    assert applied_versions(blank) == REVISIONS
    assert LEGACY_TABLE not in tables(blank)
    with blank.connect() as conn:
        inbox = conn.execute(sa.text("SELECT message_id, state, claimed_by, lease_until FROM majlis_inbox")).one()
        assert tuple(inbox) == ("wamid.1", "processing", None, None)
        assert conn.execute(sa.text("SELECT address FROM majlis_contact_address")).scalar() == "971501234567"
        assert conn.execute(sa.text("SELECT state FROM majlis_takeover")).scalar() == "human"
        assert conn.execute(sa.text("SELECT ref FROM majlis_entry_source")).scalar() == "snap-ramadan"
        assert conn.execute(sa.text("SELECT customer FROM majlis_handoff")).scalar() == "whatsapp_cloud:971501234567"
    assert migrate(blank) == []
    with blank.connect() as conn:
        assert differences(conn) == []


async def test_an_old_database_before_namespaced_ids_gets_them(blank):
    """Old version 3 (revision 0002) still runs for a database that stopped at version 2."""
    from bot.handoff.store import HandoffStore

    build_legacy(blank, [1, 2])
    assert migrate(blank) == REVISIONS[1:]
    with blank.connect() as conn:
        row = conn.execute(sa.text("SELECT customer, active_key FROM majlis_handoff")).one()
    assert tuple(row) == ("whatsapp_cloud:971501234567", "whatsapp_cloud whatsapp_cloud:971501234567")
    store = HandoffStore(blank)
    try:
        assert (await store.open_for("whatsapp_cloud", "whatsapp_cloud:971501234567")).public_id == "h1"
    finally:
        store.shutdown()


def test_a_failed_upgrade_leaves_nothing_half_applied(blank):
    """Revision 0003 cannot add a column that exists: everything of this run is rolled back."""
    with blank.begin() as conn:
        conn.execute(sa.text("CREATE TABLE majlis_outbox (id INTEGER PRIMARY KEY, claimed_by VARCHAR(64))"))
    with pytest.raises(sa.exc.SQLAlchemyError):
        migrate(blank)
    assert tables(blank) == {"majlis_outbox"}  # no baseline tables, no version table
    assert applied_versions(blank) == []

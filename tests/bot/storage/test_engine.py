"""The engine factory (bot/storage/engine.py)."""
from __future__ import annotations

import threading

import sqlalchemy as sa

from bot.config import Config, database_url
from bot.storage import create_engine, dispose_engines, get_engine, is_sqlite


def test_default_url_is_sqlite_under_the_data_dir(tmp_path):
    url = database_url(Config(environ={"MAJLIS_DATA_DIR": str(tmp_path)}))
    engine = create_engine(url)
    assert is_sqlite(engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    assert (tmp_path / "majlis.sqlite").exists()


def test_get_engine_is_cached_per_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    try:
        assert get_engine(url) is get_engine(url)
        assert get_engine(url) is not get_engine(f"sqlite:///{tmp_path / 'b.sqlite'}")
    finally:
        dispose_engines()


def test_in_memory_sqlite_is_one_database_for_every_thread():
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    seen = []

    def read():
        with engine.connect() as conn:
            seen.append(conn.execute(sa.text("SELECT x FROM t")).scalar())

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [1]


def test_postgresql_engine(pg_url):
    engine = create_engine(pg_url)
    try:
        assert not is_sqlite(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_read_only_connection_never_holds_the_sqlite_write_lock(tmp_path):
    """A long read (the sweep's look) must not make a receiver's write wait (SQLite, WAL)."""
    from bot.storage.engine import read_only

    engine = create_engine(f"sqlite:///{tmp_path / 'locks.sqlite'}", connect_args={"timeout": 0.1,
                                                                                   "check_same_thread": False})
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    with read_only(engine) as reader:
        assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0  # its transaction is open
        with engine.begin() as writer:  # BEGIN IMMEDIATE: would time out if the reader held the lock
            writer.execute(sa.text("INSERT INTO t VALUES (1)"))
        assert reader.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0  # its own snapshot
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()

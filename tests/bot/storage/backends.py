"""Database backends for storage and delivery tests: SQLite and PostgreSQL.

PostgreSQL runs, never skips: a uniquely named database is created on
127.0.0.1:5432 (user ``postgres``, override with ``MAJLIS_TEST_PG``) for the test
session and dropped at the end, so no test relies on leftover state.  Each test
gets empty Majlis tables (dropped and migrated again).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.storage import create_engine, migrate
from bot.storage.migrations import VERSION_TABLE
from bot.storage.schema import metadata

PG_SERVER = os.environ.get("MAJLIS_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
BACKENDS = ("sqlite", "postgresql")


def _admin():
    connection = psycopg2.connect(f"{PG_SERVER}/postgres")
    connection.autocommit = True
    return connection


def create_pg_database() -> str:
    """Create a uniquely named database; returns its SQLAlchemy URL."""
    name = f"majlis_test_{uuid.uuid4().hex[:12]}"
    connection = _admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    connection = _admin()
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        connection.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (dropped afterwards)."""
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


def empty(engine: Engine) -> None:
    """Drop every Majlis table and the migrations' record of them (the database is as new)."""
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty, migrated database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'majlis.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = create_engine(url)
    empty(engine)
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()

"""Database fixtures for the handoff tests: every store test runs on SQLite and on PostgreSQL.

``engine`` and ``pg_url`` are the storage tests' shared backends (a uniquely named
PostgreSQL database per session, dropped at the end; never skipped).
"""
from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.agent_desk.accounts import AccountStore
from tests.bot.storage.backends import engine, pg_url  # noqa: F401  (fixtures)


@pytest.fixture
def agents(engine: Engine) -> list:  # noqa: F811
    """Four desk accounts: two Arabic agents, an English agent, a supervisor."""
    store = AccountStore(engine)
    made = [
        store.create_agent(email="noura@example.com", password="correct horse 1", role="agent",
                           languages=["ar"], queues=["general", "billing"], display_name="Noura"),
        store.create_agent(email="fahad@example.com", password="correct horse 2", role="agent",
                           languages=["ar", "en"], queues=["general"], display_name="Fahad"),
        store.create_agent(email="john@example.com", password="correct horse 3", role="agent",
                           languages=["en"], queues=["billing"], display_name="John"),
        store.create_agent(email="sup@example.com", password="correct horse 4", role="supervisor",
                           languages=["ar", "en"], queues=["*"], display_name="Sup"),
    ]
    store.shutdown()
    return made

"""The storage contract suite: every implementation of bot/storage/ports.py, on SQLite and PostgreSQL.

``engine`` is parametrised over both backends (tests/bot/storage/backends.py): the
PostgreSQL half runs against a real, uniquely named database created for the session
and dropped after it; it never skips.
"""
from tests.bot.handoff.conftest import agents  # noqa: F401 - fixture
from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures

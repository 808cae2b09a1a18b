from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures

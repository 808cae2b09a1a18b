"""Fixtures of the delivery tests: SQLite and PostgreSQL stores, started services."""
import pytest

from bot.delivery import Delivery, DeliveryStore
from tests.bot.delivery.helpers import CHANNEL, FAST, EchoHandler, ScriptedSender
from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures


@pytest.fixture
def store(engine):  # noqa: F811 - the engine fixture above
    store = DeliveryStore(engine)
    yield store
    store.close()


@pytest.fixture
async def make(store):
    """``await make(sender, handler, **kwargs)``: a started Delivery, stopped after the test."""
    started = []

    async def make(sender=None, handler=None, **kwargs) -> Delivery:
        delivery = Delivery(
            channel=CHANNEL, store=store, sender=sender or ScriptedSender(),
            handler=handler or EchoHandler(), retry=kwargs.pop("retry", FAST), **kwargs,
        )
        await delivery.start()
        started.append(delivery)
        return delivery

    yield make
    for delivery in started:
        await delivery.stop(timeout=1)

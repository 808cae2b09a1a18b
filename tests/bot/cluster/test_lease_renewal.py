"""A turn slower than the claim lease: the instance working it keeps its claim (no model).

Two instances share one PostgreSQL database without a work queue, as two Rasa servers
do when ``MAJLIS_WORK_QUEUE_URL`` is unset (:func:`bot.cluster.wiring.make_delivery`):
the row claims are all that keeps them apart.  Instance A's first turn lasts several
leases; instance B meanwhile looks for work again and again, as its sweep does.  B must
not take the message over: every message is processed once, by A, in order.
"""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import List, Tuple

from bot.cluster.renewing import RenewingDelivery
from bot.cluster.wiring import make_delivery
from bot.config import Config
from bot.delivery import DeliveryStore, InboxState
from bot.storage import create_engine
from tests.bot.cluster.test_work_queue import pg  # noqa: F401 - fixture
from tests.bot.delivery.helpers import CHANNEL, FAST, ScriptedSender, eventually, item
from tests.bot.storage.backends import pg_url  # noqa: F401 - fixture

LEASE = timedelta(seconds=0.3)
CUSTOMER = "971500000321"
TEXTS = ["السلام عليكم", "أبغى أعرف رصيدي", "شكراً"]


class SlowFirstTurn:
    """Handlers of both instances: the first turn of all waits for ``release``; records who processed what."""

    def __init__(self) -> None:
        self.log: List[Tuple[str, str]] = []  # (instance, message id)
        self.release = asyncio.Event()

    def handler(self, name: str):
        async def handle(inbound, outbox) -> None:
            self.log.append((name, inbound.message_id))
            if len(self.log) == 1:
                await self.release.wait()
            await outbox.add({"text": f"رد على {inbound.payload['text']}"}, kind="text")
        return handle


async def test_a_turn_slower_than_the_lease_is_processed_once_by_its_instance_and_in_order(pg) -> None:  # noqa: F811
    turns, provider = SlowFirstTurn(), ScriptedSender()
    instances = []
    for name in ("a", "b"):
        store = DeliveryStore(create_engine(pg), owner=f"instance-{name}", lease=LEASE)
        delivery = make_delivery(Config({}), channel=CHANNEL, store=store, sender=provider, retry=FAST,
                                 handler=turns.handler(name))
        assert isinstance(delivery, RenewingDelivery), "PostgreSQL without a work queue: claims are renewed"
        await delivery.start()
        instances.append(delivery)
    a, b = instances
    conv = ("acct-1", CUSTOMER)
    try:
        await a.accept([item(f"m{n}", customer=CUSTOMER, text=text) for n, text in enumerate(TEXTS)],
                       schedule=False)
        a.kick(conv)
        await eventually(lambda: turns.log, 30)
        started = time.monotonic()
        looks = 0
        while time.monotonic() - started < 5 * LEASE.total_seconds():  # B's sweep, many times over the lease
            b.kick(conv)
            await b.drain()
            looks += 1
            await asyncio.sleep(LEASE.total_seconds() / 4)
        turns.release.set()
        await eventually(lambda: len(provider.sent) == len(TEXTS), 30)
        await a.drain()
        states = [await a.store.inbound(CHANNEL, f"m{n}") for n in range(len(TEXTS))]
    finally:
        for delivery in instances:
            await delivery.stop(timeout=2)
            delivery.store.close()
            delivery.store.engine.dispose()
    assert looks >= 5
    assert turns.log == [("a", "m0"), ("a", "m1"), ("a", "m2")], "a message was processed twice or out of order"
    assert provider.texts() == [f"رد على {text}" for text in TEXTS]
    assert [state for _item, state in states] == [InboxState.DONE] * len(TEXTS)

"""Several delivery "instances" on one PostgreSQL database and one RabbitMQ queue (no model).

Each instance is what one Rasa server runs: its own engine (its own connections, so the
conversation leases of two instances exclude each other as two processes' would), a
:class:`ClusterDelivery` and a :class:`WorkConsumer`.  A :class:`WorkPublisher` plays the
receiver: rows are accepted without scheduling, then announced on the queue.  The queue
name is unique per test; the database is the session's own (tests/bot/storage/backends.py).
"""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Tuple

import aio_pika
import pytest

from bot.cluster.delivery import ClusterDelivery
from bot.cluster.lease import ConversationLeases, backend_for
from bot.cluster.workqueue import QueueSettings, WorkConsumer, WorkPublisher
from bot.config import Secret
from bot.delivery import Delivery, DeliveryStore, InboxState
from bot.storage import create_engine, migrate
from tests.bot.delivery.helpers import CHANNEL, FAST, ScriptedSender, eventually, item
from tests.bot.storage.backends import empty, pg_url  # noqa: F401 - fixture

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture
def queue_settings() -> QueueSettings:
    name = f"majlis_test_work_{uuid.uuid4().hex[:10]}"
    return QueueSettings(url=Secret(AMQP), queue=name, prefetch=4, connection_name=f"test-{name}")


@pytest.fixture
def pg(pg_url):  # noqa: F811 - fixture
    engine = create_engine(pg_url)
    empty(engine)  # tables and the migrations' record: migrate builds them again
    migrate(engine)
    engine.dispose()
    return pg_url


@dataclass
class Instance:
    name: str
    delivery: ClusterDelivery
    consumer: WorkConsumer
    sender: ScriptedSender
    store: DeliveryStore


class Recorder:
    """The handler of every instance: who processed which message, in which order."""

    def __init__(self, delay: float = 0.0) -> None:
        self.log: List[Tuple[str, str, str]] = []  # (instance, customer, message id)
        self.delay = delay

    def handler(self, instance: str):
        async def handle(inbound, outbox) -> None:
            self.log.append((instance, inbound.customer, inbound.message_id))
            await asyncio.sleep(self.delay)
            await outbox.add({"text": f"re:{inbound.message_id}"}, kind="text")
        return handle


async def start_instance(name: str, url: str, settings: QueueSettings, recorder: Recorder,
                         sender: ScriptedSender = None) -> Instance:
    """One instance; ``sender`` shared by several stands for the one provider they all send to."""
    store = DeliveryStore(create_engine(url))
    sender = sender or ScriptedSender()
    delivery = ClusterDelivery(channel=CHANNEL, store=store, sender=sender, retry=FAST,
                               handler=recorder.handler(name))
    await delivery.start()
    consumer = WorkConsumer(settings, CHANNEL, delivery.process_conversation)
    await consumer.start()
    return Instance(name, delivery, consumer, sender, store)


async def stop_instance(instance: Instance) -> None:
    await instance.consumer.stop()
    await instance.delivery.stop(timeout=2)
    instance.store.close()
    instance.store.engine.dispose()


async def delete_queue(settings: QueueSettings) -> None:
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel()
    await channel.queue_delete(settings.queue)
    await connection.close()


async def publish(url: str, settings: QueueSettings, items) -> Delivery:
    """The receiver's part: store the rows (no processing here), then announce them."""
    store = DeliveryStore(create_engine(url))
    recorder = Delivery(channel=CHANNEL, store=store, sender=ScriptedSender())
    publisher = WorkPublisher(settings, CHANNEL)
    for batch in items:
        accepted = await recorder.accept(batch, schedule=False)
        publisher.notify({(i.account, i.customer) for i in accepted})
        await asyncio.sleep(0)
    await publisher.close(timeout=30)
    assert publisher.failed == 0
    store.close()
    store.engine.dispose()
    return recorder


async def test_three_instances_answer_every_message_once_in_order(pg, queue_settings):
    recorder = Recorder(delay=0.002)
    provider = ScriptedSender()
    instances = [await start_instance(f"i{n}", pg, queue_settings, recorder, provider) for n in range(3)]
    try:
        customers = [f"cust-{n}" for n in range(20)]
        sent_order: Dict[str, List[str]] = defaultdict(list)
        batches = []
        for turn in range(10):
            for customer in customers:
                message_id = f"{customer}-m{turn}"
                sent_order[customer].append(message_id)
                batches.append([item(message_id, customer=customer)])
        batches.append([item("cust-0-m0", customer="cust-0")])  # a provider retry: stored once
        await publish(pg, queue_settings, batches)

        await eventually(lambda: len(recorder.log) >= 200, timeout=120)
        await eventually(lambda: len(provider.sent) >= 200, timeout=120)
        await asyncio.sleep(0.5)  # a second processing or send would show by now
    finally:
        for instance in instances:
            await stop_instance(instance)
        await delete_queue(queue_settings)

    processed = [message_id for _, _, message_id in recorder.log]
    assert sorted(processed) == sorted(m for ids in sent_order.values() for m in ids)  # each once
    for customer, expected in sent_order.items():
        assert [m for _, c, m in recorder.log if c == customer] == expected
    assert sorted(m.idempotency_key for m in provider.sent) == sorted(f"{m}:0" for m in processed)  # sent once
    for customer, expected in sent_order.items():  # and in order, whichever instance sent them
        assert [m.payload["text"] for m in provider.sent if m.customer == customer] == [f"re:{m}" for m in expected]
    assert len({name for name, _, _ in recorder.log}) >= 2  # the work was spread


async def test_a_dead_holder_s_conversation_is_taken_over_and_its_message_processed_again(pg, queue_settings):
    """The lease of an instance whose database connection died is free at once; the new
    holder puts the row left "processing" back and processes it."""
    recorder = Recorder()
    survivor = await start_instance("survivor", pg, queue_settings, recorder)
    engine = create_engine(pg)
    dead_store = DeliveryStore(engine)
    dead = ConversationLeases(CHANNEL, backend_for(engine))
    conv = ("acct-1", "cust-dead")
    try:
        await Delivery(channel=CHANNEL, store=dead_store, sender=ScriptedSender()).accept(
            [item("dead-m1", customer="cust-dead")], schedule=False)
        assert await dead.acquire(conv)
        claimed = await dead_store.claim_next_inbound(CHANNEL, conv)
        assert claimed is not None and claimed.message_id == "dead-m1"
        # While the dead instance holds it, nobody else works it.
        assert not await survivor.delivery.process_conversation(conv, wait=0.2)
        assert recorder.log == []
        raw, _key = dead._handles[conv]
        cursor = raw.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        killer = create_engine(pg)
        with killer.connect() as conn:  # what the server does when the holder's process dies
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        killer.dispose()
        assert await survivor.delivery.process_conversation(conv, wait=10)
        found = await survivor.store.inbound(CHANNEL, "dead-m1")
        assert found is not None and found[1] is InboxState.DONE
        assert [m for _, _, m in recorder.log] == ["dead-m1"]
        assert survivor.delivery.orphans_reset == 1
        await eventually(lambda: [m.idempotency_key for m in survivor.sender.sent] == ["dead-m1:0"])
    finally:
        dead.close()
        dead_store.close()
        engine.dispose()
        await stop_instance(survivor)
        await delete_queue(queue_settings)


async def test_a_message_whose_consumer_disconnects_unacknowledged_is_redelivered(pg, queue_settings):
    """A consumer whose connection ends mid-work never acknowledged: RabbitMQ gives the
    message to another consumer, which finds the rows and processes them."""
    recorder = Recorder()
    gate, got = asyncio.Event(), asyncio.Event()
    first = await start_instance("first", pg, queue_settings, recorder)

    async def stuck(conv) -> bool:  # got the message, dies before finishing
        got.set()
        await gate.wait()
        return False

    first.consumer.process = stuck
    try:
        await publish(pg, queue_settings, [[item("lost-m1", customer="cust-lost")]])
        await asyncio.wait_for(got.wait(), 30)  # the message is with the stuck consumer now
        await first.consumer.stop()  # the connection ends with the message unacknowledged
        second = await start_instance("second", pg, queue_settings, recorder)
        await eventually(lambda: [m for _, _, m in recorder.log] == ["lost-m1"], timeout=30)
        await eventually(lambda: second.consumer.acked == 1, timeout=30)
        await stop_instance(second)
    finally:
        gate.set()
        await first.delivery.stop(timeout=1)
        first.store.close()
        await delete_queue(queue_settings)

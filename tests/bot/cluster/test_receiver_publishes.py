"""The WhatsApp receiver process with a work queue: a signed webhook becomes a RabbitMQ message.

A real ``python -m channels.whatsapp_receiver`` (no shared notice secret: the work queue
replaces the HTTP notice), a SQLite delivery database, and a queue of this test's own.
"""
from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import aio_pika
import aiohttp

from bot.cluster.workqueue import WorkPublisher, decode
from bot.config import Config, ConfigError, Secret
from bot.delivery import DeliveryStore, InboxState
from bot.gateway.notice import InboxNotifier
from bot.storage import create_engine
from channels.meta.graph import SIGNATURE_HEADER, sign
from channels.whatsapp_receiver import CHANNEL_NAME, notifier_for
from tests.channels.test_whatsapp_receiver import CUSTOMER, WEBHOOK, receiver_env, text_body
from tests.channels.whatsapp_harness import APP_SECRET
from tests.conftest import ROOT, free_port, wait_for_http

AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def test_the_work_queue_replaces_the_notice_and_its_secret():
    assert isinstance(notifier_for(Config({"MAJLIS_WORK_QUEUE_URL": AMQP}), "http://unused"), WorkPublisher)
    assert isinstance(notifier_for(Config({"MAJLIS_INBOX_SECRET": "s"}), "http://127.0.0.1:5005"), InboxNotifier)
    try:
        notifier_for(Config({}), "http://127.0.0.1:5005")
    except ConfigError as exc:
        assert exc.key == "MAJLIS_INBOX_SECRET"
    else:
        raise AssertionError("a receiver that can tell nobody must not start")


async def first_message(queue: aio_pika.abc.AbstractQueue, timeout: float = 30.0) -> aio_pika.abc.AbstractIncomingMessage:
    """The queue's first message, once the receiver's relay has published it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        message = await queue.get(fail=False)
        if message is not None:
            return message
        assert asyncio.get_running_loop().time() < deadline, "nothing published"
        await asyncio.sleep(0.1)


async def test_a_recorded_message_is_published_for_its_conversation_and_readiness_says_so(tmp_path):
    queue = f"majlis_test_receiver_{uuid.uuid4().hex[:10]}"
    env = receiver_env(tmp_path, MAJLIS_WORK_QUEUE_URL=AMQP, MAJLIS_WORK_QUEUE=queue)
    env.pop("MAJLIS_INBOX_SECRET")
    port = free_port()
    log = open(tmp_path / "receiver.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "channels.whatsapp_receiver", "--host", "127.0.0.1",
                                "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    connection = await aio_pika.connect(AMQP)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/ready", 60, process)
        raw, wamid = text_body("مرحبا، عندي سؤال عن فاتورتي")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/webhooks/whatsapp_cloud/ready") as answer:
                assert answer.status == 200
                assert await answer.json() == {"status": "ready", "relay": "ok", "work_queue": "connected"}
            async with session.post(f"http://127.0.0.1:{port}{WEBHOOK}", data=raw, headers=headers) as answer:
                assert answer.status == 200
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, durable=True)
        message = await first_message(declared)
        assert decode(message.body) == (CHANNEL_NAME, ("1122334455667", CUSTOMER))
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        await message.ack()
        store = DeliveryStore(create_engine(f"sqlite:///{tmp_path / 'majlis.sqlite'}"))
        found = await store.inbound(CHANNEL_NAME, wamid)  # published only after the row is stored
        store.close()
        assert found is not None and found[1] is InboxState.PENDING
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await connection.close()
    text = (tmp_path / "receiver.log").read_text()
    assert CUSTOMER not in text, text

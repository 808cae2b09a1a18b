"""channels/whatsapp_cloud/channel.py, the Rasa side of the receiver: ``POST /inbox`` and the sweep.

Rows are written into the channel's SQLite file by a second engine and store, as the
receiver process does (tests/channels/test_whatsapp_receiver_e2e.py runs the real
process); the channel is served by Rasa's ``configure_app`` on a real Sanic server.
Messages are built by tests/fakes/fake_customer.py.
"""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Tuple

import pytest

from bot.delivery import Delivery, DeliveryStore, InboxState
from bot.gateway.notice import SECRET_HEADER, encode_notice
from bot.storage import create_engine
from channels.whatsapp_cloud.webhook import record_batch
from channels.whatsapp_receiver import CHANNEL_NAME
from tests.channels.whatsapp_harness import (
    PHONE_NUMBER_ID,
    RecordingAgent,
    RunningChannel,
    make_channel,
    running_channel,
    settings,
)
from tests.fakes.fake_customer import envelope, text_message
from tests.fakes.fake_graph import fake_graph  # noqa: F401 - fixture

SECRET = "inbox-notice-secret"
CUSTOMER = "971500000007"
INBOX = "/webhooks/whatsapp_cloud/inbox"


@asynccontextmanager
async def served(tmp_path: Path, graph_url: str, agent: RecordingAgent) -> AsyncIterator[Tuple[RunningChannel, Delivery]]:
    """The channel on a SQLite file, and a second Delivery on the same file (the 'receiver')."""
    url = f"sqlite:///{tmp_path / 'majlis.sqlite'}"
    channel = make_channel(settings(graph_url), store=DeliveryStore(create_engine(url)))
    other_store = DeliveryStore(create_engine(url))
    other = Delivery(channel=CHANNEL_NAME, store=other_store, sender=channel.sender)
    async with running_channel(channel, agent) as running:
        try:
            yield running, other
        finally:
            other_store.close()
            other_store.engine.dispose()


async def store_elsewhere(other: Delivery, text: str, sender: str = CUSTOMER) -> str:
    """Record a message the way the receiver does (no processing in this Delivery)."""
    message = text_message(text, sender=sender)
    accepted, _ = await record_batch(envelope([message], phone_number_id=PHONE_NUMBER_ID),
                                     settings=settings(), delivery=other, schedule=False)
    assert len(accepted) == 1
    return message["id"]


async def notice(running: RunningChannel, body: bytes, secret: str | None = SECRET) -> Tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with running.session.post(running.url(INBOX), data=body, headers=headers) as answer:
        return answer.status, json.loads(await answer.text())


async def processed(running: RunningChannel, wamid: str, timeout: float = 10.0) -> InboxState:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = await running.channel.delivery.store.inbound(CHANNEL_NAME, wamid)
        if found and found[1] is InboxState.DONE:
            return found[1]
        await asyncio.sleep(0.02)
    return found[1] if found else None  # type: ignore[return-value]


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("MAJLIS_INBOX_SECRET", SECRET)
    monkeypatch.setenv("WHATSAPP_INBOX_SWEEP_SECONDS", "0")  # notices only, unless a test wants the sweep
    return monkeypatch


async def test_a_notice_wakes_the_conversation_at_once(env, fake_graph, tmp_path):
    agent = RecordingAgent(reply="أهلاً")
    async with served(tmp_path, fake_graph.url, agent) as (running, other):
        wamid = await store_elsewhere(other, "مرحبا")
        await asyncio.sleep(0.3)
        assert agent.messages == []  # stored elsewhere, nobody told this process
        status, body = await notice(running, encode_notice([(PHONE_NUMBER_ID, CUSTOMER)]))
        assert (status, body) == (200, {"kicked": 1})
        assert await processed(running, wamid) is InboxState.DONE
        await running.channel.delivery.drain()
    assert [m.message_id for m in agent.messages] == [wamid]
    assert len(fake_graph.messages()) == 1


@pytest.mark.parametrize("secret,status", [(None, 403), ("wrong", 403), ("", 403), (SECRET + "x", 403)])
async def test_notices_without_the_secret_are_refused(env, fake_graph, tmp_path, secret, status):
    agent = RecordingAgent(reply="hi")
    async with served(tmp_path, fake_graph.url, agent) as (running, other):
        wamid = await store_elsewhere(other, "hello")
        assert (await notice(running, encode_notice([(PHONE_NUMBER_ID, CUSTOMER)]), secret))[0] == status
        await asyncio.sleep(0.3)
        assert (await running.channel.delivery.store.inbound(CHANNEL_NAME, wamid))[1] is InboxState.PENDING
    assert agent.messages == []


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"conversations": [["a", "b"]]}',
                                  b'{"conversations": [{"account": 1, "customer": "x"}]}'])
async def test_malformed_notices_get_400(env, fake_graph, tmp_path, body):
    async with served(tmp_path, fake_graph.url, RecordingAgent()) as (running, _other):
        assert (await notice(running, body))[0] == 400


async def test_notices_are_disabled_without_a_configured_secret(env, fake_graph, tmp_path):
    env.delenv("MAJLIS_INBOX_SECRET")
    async with served(tmp_path, fake_graph.url, RecordingAgent()) as (running, _other):
        assert (await notice(running, encode_notice([(PHONE_NUMBER_ID, CUSTOMER)]), "anything"))[0] == 404
        assert (await notice(running, encode_notice([]), ""))[0] == 404


async def test_the_sweep_finds_rows_nobody_announced(env, fake_graph, tmp_path):
    env.setenv("WHATSAPP_INBOX_SWEEP_SECONDS", "0.2")
    agent = RecordingAgent(reply="أهلاً")
    async with served(tmp_path, fake_graph.url, agent) as (running, other):
        first = await store_elsewhere(other, "one")
        second = await store_elsewhere(other, "two", sender="971500000008")
        assert await processed(running, first) is InboxState.DONE
        assert await processed(running, second) is InboxState.DONE
        await running.channel.delivery.drain()
    assert sorted(m.message_id for m in agent.messages) == sorted([first, second])


async def test_the_in_rasa_webhook_still_processes_at_once(env, fake_graph, tmp_path):
    """Plain ``rasa run``: the webhook route records and schedules, no receiver, no sweep needed."""
    from tests.fakes.fake_customer import encode

    agent = RecordingAgent(reply="hi")
    async with served(tmp_path, fake_graph.url, agent) as (running, _other):
        message = text_message("hello", sender=CUSTOMER)
        status, _ = await running.post_signed(encode(envelope([message], phone_number_id=PHONE_NUMBER_ID)))
        assert status == 200
        assert await processed(running, message["id"]) is InboxState.DONE

"""The production backends of endpoints.production.yml, against the real services.

PostgreSQL (tracker store), Redis (lock store) and RabbitMQ (event broker) run on
this machine kind before the session and before CI (127.0.0.1, default ports).
Each run creates and drops its own PostgreSQL database and RabbitMQ queue.
"""
from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.lock_store import LockStore, RedisLockStore
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain

from bot.storage.tracker_store import WindowedSQLTrackerStore
from tests.conftest import action_endpoint

ROOT = Path(__file__).resolve().parents[1]
PG = dict(host="127.0.0.1", port=5432, user="postgres", dbname="test")


@pytest.fixture(scope="module")
def production_env() -> Iterator[dict]:
    db = f"majlis_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(**PG)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    env = {
        "MAJLIS_ACTION_ENDPOINT": "http://127.0.0.1:1/webhook",
        # endpoints.production.yml sends the action server's shared secret (bot/action_server.py).
        "MAJLIS_ACTION_SECRET": os.environ.get("MAJLIS_ACTION_SECRET") or "production-backends-test-secret",
        "MAJLIS_PG_HOST": "127.0.0.1", "MAJLIS_PG_PORT": "5432", "MAJLIS_PG_DB": db,
        "MAJLIS_PG_USER": "postgres", "MAJLIS_PG_PASSWORD": "",
        "MAJLIS_REDIS_HOST": "127.0.0.1", "MAJLIS_REDIS_PORT": "6379", "MAJLIS_REDIS_DB": "0",
        "MAJLIS_REDIS_PREFIX": f"majlistest{uuid.uuid4().hex[:8]}",  # Rasa takes alphanumeric prefixes only
        "MAJLIS_RABBITMQ_HOST": "127.0.0.1", "MAJLIS_RABBITMQ_PORT": "5672",
        "MAJLIS_RABBITMQ_USER": "guest", "MAJLIS_RABBITMQ_PASSWORD": "guest",
        "MAJLIS_RABBITMQ_QUEUE": f"majlis_events_{uuid.uuid4().hex[:8]}",
        # Rasa's default exchange is a fanout shared by every broker on this RabbitMQ: a
        # cluster run elsewhere on the machine would otherwise publish into this queue.
        "MAJLIS_RABBITMQ_EXCHANGE": f"majlis_test_exchange_{uuid.uuid4().hex[:8]}",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        with admin.cursor() as cur:
            cur.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")
            cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.close()


@pytest.fixture(scope="module")
def endpoints(production_env) -> AvailableEndpoints:
    return AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.production.yml"))


def test_production_endpoints_name_the_real_backends(endpoints):
    assert endpoints.tracker_store.type == "bot.storage.tracker_store.WindowedSQLTrackerStore"
    assert endpoints.tracker_store.kwargs["dialect"] == "postgresql"
    assert endpoints.lock_store.type == "redis"
    assert endpoints.event_broker.type == "pika"
    assert endpoints.nlg.type == "bot.nlg.BilingualNLG"


async def test_redis_lock_store_serialises_a_conversation(endpoints):
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, RedisLockStore)
    sender = f"lock-{uuid.uuid4().hex}"
    order = []

    async def turn(name: str) -> None:
        async with store.lock(sender, wait_time_in_seconds=0.01):
            order.append(f"{name}-in")
            await asyncio.sleep(0.05)
            order.append(f"{name}-out")

    await asyncio.gather(turn("a"), turn("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def _drain(queue_name: str, env: dict, expected: int, timeout: float = 10.0) -> list:
    import aio_pika

    connection = await aio_pika.connect_robust(f"amqp://guest:guest@127.0.0.1:{env['MAJLIS_RABBITMQ_PORT']}/")
    received = []
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(received) < expected and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(no_ack=True, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
                continue
            received.append(json.loads(message.body))
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    return received


@pytest.mark.e2e
async def test_a_conversation_is_stored_in_postgres_and_published_to_rabbitmq(
    endpoints, production_env, trained_model, action_server_url
):
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    broker = await EventBroker.create(endpoints.event_broker)
    domain = Domain.load(str(ROOT / "domain.yml"))
    tracker_store = TrackerStore.create(endpoints.tracker_store, domain=domain, event_broker=broker)
    assert isinstance(tracker_store, WindowedSQLTrackerStore)
    agent = Agent.load(
        trained_model,
        generator=EndpointConfig(type="bot.nlg.BilingualNLG"),
        tracker_store=tracker_store,
        lock_store=LockStore.create(endpoints.lock_store),
        action_endpoint=EndpointConfig(**action_endpoint(action_server_url)),
    )
    sender = f"prod-{uuid.uuid4().hex[:8]}"
    replies = await agent.handle_text("مرحبا", sender_id=sender)
    assert replies and any("\u0600" <= ch <= "\u06ff" for ch in replies[0]["text"])

    # The row a restart would read back: the tracker, from PostgreSQL.
    conn = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=production_env["MAJLIS_PG_DB"])
    with conn, conn.cursor() as cur:
        cur.execute("SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        rows = cur.fetchall()
    conn.close()
    user_rows = [json.loads(data) for kind, data in rows if kind == "user"]
    assert user_rows and user_rows[-1]["text"] == "مرحبا"
    assert user_rows[-1]["parse_data"]["language"]["code"] == "ar"
    assert any(kind == "bot" for kind, _ in rows)

    events = await _drain(production_env["MAJLIS_RABBITMQ_QUEUE"], production_env, expected=len(rows))
    await broker.close()
    assert {e.get("sender_id") for e in events} == {sender}
    assert any(e.get("event") == "user" and e.get("text") == "مرحبا" for e in events)

"""Schema events on the real RabbitMQ (127.0.0.1:5672): tracker and desk events, in order.

The Rasa server app is built as ``./majlis start`` builds it (tests/rasa_server_app.py)
with ``MAJLIS_EVENTS_AMQP_URL`` set; a Rasa tracker store saves a customer turn, the
desk's store and API create, claim, close and rate a handoff.  A consumer bound to a
unique exchange receives what a warehouse would.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List

import aio_pika
import aiohttp
import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agent_desk.accounts import AccountStore
from bot.events.schema import TYPES
from bot.storage import create_engine, migrate
from bot.agent_desk.channel import AgentDeskInput
from tests.bot.agent_desk.conftest import PASSWORDS, FakeTrackers, StubAgent, login
from tests.e2e.handoff_harness import DESK, handoff_settings
from tests.rasa_server_app import served_rasa_app

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
KEY = "events-test-key-0123456789"
PHONE = "971503330001"
SENDER = f"whatsapp_cloud:{PHONE}"


class AgentWithTrackers(StubAgent):
    def __init__(self) -> None:
        self.tracker_store = InMemoryTrackerStore(Domain.empty())


async def collect(queue: Any, count: int, timeout: float = 30.0) -> List[Dict[str, Any]]:
    found: List[Dict[str, Any]] = []
    async with queue.iterator() as messages:
        async def take() -> None:
            async for message in messages:
                async with message.process():
                    assert message.content_type == "application/json"
                    found.append({**json.loads(message.body), "_routing_key": message.routing_key})
                if len(found) >= count:
                    return
        await asyncio.wait_for(take(), timeout)
    return found


async def test_turn_and_handoff_reach_the_broker_in_the_schema(tmp_path, monkeypatch) -> None:
    exchange_name = f"majlis.events.test.{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("MAJLIS_EVENTS_AMQP_URL", AMQP)
    monkeypatch.setenv("MAJLIS_EVENTS_EXCHANGE", exchange_name)
    monkeypatch.setenv("MAJLIS_EVENTS_KEY", KEY)
    monkeypatch.delenv("MAJLIS_EVENTS_INCLUDE_TEXT", raising=False)
    engine = create_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="noura@example.com", password=PASSWORDS["noura@example.com"], role="agent",
                          languages=["ar"], queues=["*"], display_name="Noura")
    accounts.shutdown()

    connection = await aio_pika.connect_robust(AMQP)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="#")
    agent = AgentWithTrackers()
    desk_channel = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    try:
        async with served_rasa_app([desk_channel], agent) as port:
            desk_channel.desk.service.trackers = FakeTrackers()
            tracker = DialogueStateTracker(SENDER, slots=[])
            now = time.time()
            for event in (SessionStarted(timestamp=now), ActionExecuted("action_listen", timestamp=now),
                          UserUttered("أبي أكلم موظف", timestamp=now + 1, input_channel="whatsapp_cloud",
                                      parse_data={"intent": {"name": "talk_to_human", "confidence": 0.97},
                                                  "entities": [], "language": {"code": "ar", "form": "arabic",
                                                  "dialect": {"region": "gulf", "confidence": 0.8}}}),
                          BotUttered("أحولك لموظف", timestamp=now + 2, metadata={"utter_action": "utter_handoff"})):
                tracker.update(event)
            await agent.tracker_store.save(tracker)

            store = desk_channel.desk.service.store
            record, _ = await store.create(channel="whatsapp_cloud", account="1", customer=SENDER, queue="general",
                                           language="ar", priority=2, reason="customer_request", context={},
                                           now=datetime.now(timezone.utc), event={})
            await desk_channel.desk.service.flush_events()
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
                csrf = await login(session, f"http://127.0.0.1:{port}{DESK}", "noura@example.com")
                api = f"http://127.0.0.1:{port}{DESK}/api/v1/handoffs/{record.public_id}"
                for path, body in (("/claim", None), ("/close", {"resolution": "resolved"})):
                    async with session.post(api + path, json=body, headers={"X-CSRF-Token": csrf}) as answer:
                        assert answer.status == 200, await answer.text()
            closed = await store.get(record.public_id)
            await store.add_event(closed, "handoff.rated", {"rating": 4}, datetime.now(timezone.utc))
            await desk_channel.desk.service.flush_events()
            events = await collect(queue, 8)
    finally:
        await exchange.delete(if_unused=False)
        await connection.close()

    pseudonym = hmac.new(KEY.encode(), SENDER.encode(), hashlib.sha256).hexdigest()[:32]
    assert [e["type"] for e in events] == ["conversation.started", "message.received", "intent.detected",
                                           "message.sent", "handoff.created", "handoff.claimed", "handoff.closed",
                                           "rating.received"]
    for event in events:
        assert event["schema"] == "majlis.event" and event["version"] == 1 and event["type"] in TYPES
        assert event["_routing_key"] == event["type"]
        assert event["conversation"] == pseudonym
        assert PHONE not in json.dumps(event) and "موظف" not in json.dumps(event, ensure_ascii=False)
    by_type = {e["type"]: e["data"] for e in events}
    assert by_type["intent.detected"] == {"intent": "talk_to_human", "confidence": 0.97, "language": "ar",
                                          "form": "arabic", "dialect": "gulf"}
    assert by_type["message.received"] == {"language": "ar", "form": "arabic", "entry_source": None}
    assert by_type["message.sent"] == {"template": "utter_handoff"}
    assert by_type["handoff.created"] == {"handoff_id": record.public_id, "queue": "general", "language": "ar",
                                          "reason": "customer_request", "priority": 2}
    assert by_type["handoff.closed"]["resolution"] == "resolved"
    assert by_type["rating.received"]["rating"] == 4

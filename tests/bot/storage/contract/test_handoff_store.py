"""The ownership state machine (bot → queued → assigned → closed → bot) and its races,
on SQLite and PostgreSQL (see conftest.py)."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.context import OwnerState
from bot.handoff.store import HandoffStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


async def create(store: HandoffStore, customer: str = "971500000001", **overrides):
    values = dict(channel="whatsapp_cloud", account="1122", customer=customer, queue="general", language="ar",
                  priority=2, reason="customer_request", context={"signals": []}, now=NOW, event={})
    values.update(overrides)
    return await store.create(**values)


@pytest.fixture
def store(engine):
    store = HandoffStore(engine, webhook_targets=lambda kind: ["crm"] if kind != "handoff.returned" else [])
    yield store
    store.shutdown()


async def test_full_life_cycle(store, agents):
    record, created = await create(store)
    assert created and record.state == OwnerState.QUEUED and record.is_open
    assert (await store.open_for("whatsapp_cloud", "971500000001")).public_id == record.public_id
    claimed = await store.claim(record.public_id, agents[0].id, NOW)
    assert claimed.state == OwnerState.ASSIGNED and claimed.agent_id == agents[0].id
    closed = await store.close(record.public_id, agents[0].id, "resolved", NOW)
    assert closed.state == OwnerState.CLOSED and closed.resolution == "resolved" and closed.is_open
    back = await store.mark_returned(record.public_id, NOW, "requested")
    assert back.state == OwnerState.BOT and not back.is_open and back.rating_state == "requested"
    assert await store.open_for("whatsapp_cloud", "971500000001") is None
    again, created_again = await create(store)
    assert created_again and again.public_id != record.public_id
    assert [h.public_id for h in await store.history("whatsapp_cloud", "971500000001")] == [
        again.public_id, record.public_id]
    kinds = [e.type for e in await store.events_since(0)]
    assert kinds == ["handoff.created", "handoff.claimed", "handoff.closed", "handoff.returned", "handoff.created"]
    assert claimed.version == record.version + 1


async def test_one_open_handoff_per_conversation_even_when_created_at_once(store):
    results = await asyncio.gather(*(create(store) for _ in range(6)))
    assert sum(1 for _record, created in results if created) == 1
    assert len({record.public_id for record, _ in results}) == 1


async def test_two_agents_claim_at_once_exactly_one_wins(store, agents):
    record, _ = await create(store)
    barrier = threading.Barrier(2)

    def claim(agent_id: int):
        barrier.wait()  # both transactions start together, on separate connections
        return store._transition(record.public_id, ["queued"], {"state": "assigned", "agent_id": agent_id},
                                 NOW, "handoff.claimed", {})

    loop = asyncio.get_running_loop()
    results = await asyncio.gather(*(loop.run_in_executor(None, claim, agents[i].id) for i in (0, 1)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    current = await store.get(record.public_id)
    assert current.agent_id == winners[0].agent_id
    assert [e.type for e in await store.events_since(0)].count("handoff.claimed") == 1


async def test_many_claims_through_the_async_api(store, agents):
    record, _ = await create(store)
    results = await asyncio.gather(*(store.claim(record.public_id, agent.id, NOW) for agent in agents))
    assert sum(1 for r in results if r is not None) == 1


async def test_release_and_close_only_by_the_owner(store, agents):
    record, _ = await create(store)
    await store.claim(record.public_id, agents[0].id, NOW)
    assert await store.release(record.public_id, agents[1].id, NOW) is None
    assert await store.close(record.public_id, agents[1].id, "resolved", NOW) is None
    released = await store.release(record.public_id, agents[0].id, NOW)
    assert released.state == OwnerState.QUEUED and released.agent_id is None
    assert await store.close(record.public_id, agents[0].id, "resolved", NOW) is None  # not assigned any more
    forced = await store.close(record.public_id, None, "duplicate", NOW)  # a supervisor may close a queued one
    assert forced.state == OwnerState.CLOSED


async def test_transfer_to_queue_or_agent(store, agents):
    record, _ = await create(store)
    assert await store.transfer(record.public_id, agents[0].id, NOW, queue="billing") is None  # not the owner
    await store.claim(record.public_id, agents[0].id, NOW)
    moved = await store.transfer(record.public_id, agents[0].id, NOW, queue="billing")
    assert moved.state == OwnerState.QUEUED and moved.queue == "billing" and moved.agent_id is None
    direct = await store.transfer(record.public_id, None, NOW, queue="billing", to_agent=agents[2].id)
    assert direct.state == OwnerState.ASSIGNED and direct.agent_id == agents[2].id


async def test_returned_only_from_closed(store, agents):
    record, _ = await create(store)
    assert await store.mark_returned(record.public_id, NOW, None) is None
    await store.claim(record.public_id, agents[0].id, NOW)
    assert await store.mark_returned(record.public_id, NOW, None) is None
    assert await store.claim(record.public_id, agents[1].id, NOW) is None


async def test_queue_order_is_priority_then_waiting_time(store):
    first, _ = await create(store, "a", now=NOW)
    urgent, _ = await create(store, "b", now=NOW + timedelta(minutes=5), priority=4)
    later, _ = await create(store, "c", now=NOW + timedelta(minutes=1))
    other_queue, _ = await create(store, "d", now=NOW, queue="billing")
    listed = await store.list(queues=["general"])
    assert [r.customer for r in listed] == ["whatsapp_cloud:b", "whatsapp_cloud:a", "whatsapp_cloud:c"]
    assert [await store.position(r) for r in (urgent, first, later, other_queue)] == [1, 2, 3, 1]


async def test_messages_are_deduplicated_by_client_key_and_logged(store, agents):
    record, _ = await create(store)
    message, created = await store.add_message(record, kind="agent", text="هلا", now=NOW, agent_id=agents[0].id,
                                               author="Noura", client_key="k1")
    duplicate, created_again = await store.add_message(record, kind="agent", text="هلا", now=NOW,
                                                       agent_id=agents[0].id, author="Noura", client_key="k1")
    assert created and not created_again and duplicate.id == message.id
    assert message.delivery_state == "pending" and message.outbox_key() == f"agent-reply:{message.id}:0"
    assert await store.unsent_replies() == [message]
    assert await store.set_delivery(message.id, state="queued", attempt=1, expect_state="pending")
    assert not await store.set_delivery(message.id, state="queued", attempt=2, expect_state="pending")
    note, _ = await store.add_message(record, kind="note", text="internal", now=NOW, agent_id=agents[0].id)
    assert note.delivery_state is None
    assert [m.kind for m in await store.messages(record.id)] == ["agent", "note"]
    assert [e.type for e in await store.events_since(0)][-2:] == ["handoff.message", "handoff.note_message"]


async def test_each_event_gets_a_webhook_delivery_per_target(store, engine, agents):
    import sqlalchemy as sa

    from bot.storage.schema import webhook_delivery

    record, _ = await create(store)
    await store.claim(record.public_id, agents[0].id, NOW)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(webhook_delivery.c.target, webhook_delivery.c.state)).all()
    assert [tuple(r) for r in rows] == [("crm", "pending"), ("crm", "pending")]


async def test_a_handoff_names_its_customer_by_the_namespaced_sender_id(store):
    """The channel's bare provider id and Rasa's sender id find the same conversation."""
    record, created = await create(store, "971500000009")
    assert created and record.customer == "whatsapp_cloud:971500000009"
    assert (await store.open_for("whatsapp_cloud", "whatsapp_cloud:971500000009")).public_id == record.public_id
    assert (await store.open_for("whatsapp_cloud", "971500000009")).public_id == record.public_id
    assert await store.open_for("instagram", "971500000009") is None
    again, created_again = await create(store, "whatsapp_cloud:971500000009")
    assert not created_again and again.public_id == record.public_id

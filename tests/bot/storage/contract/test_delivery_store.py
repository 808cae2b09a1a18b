"""DeliveryStorage (bot/delivery/store.py over bot/delivery/sql.py): the basics, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery import (
    DeliveryStore,
    InboxState,
    OutboundMessage,
    OutboxState,
    StatusUpdate,
    utcnow,
)
from tests.bot.delivery.helpers import CHANNEL, item


@pytest.fixture
def store(engine):
    store = DeliveryStore(engine)
    yield store
    store.close()


def outbound(key: str, customer: str = "cust-1") -> OutboundMessage:
    return OutboundMessage(
        channel=CHANNEL, account="acct-1", customer=customer, payload={"text": key}, idempotency_key=key
    )


async def test_accept_stores_new_items_once(store):
    now = utcnow()
    first = await store.accept([item("m1"), item("m2")], now)
    assert [i.message_id for i in first] == ["m1", "m2"]
    assert all(i.id for i in first)
    again = await store.accept([item("m2"), item("m3")], now)
    assert [i.message_id for i in again] == ["m3"]


async def test_accept_a_thousand_items_in_one_batch(store):
    items = [item(f"m{n}", customer=f"c{n % 50}") for n in range(1000)]
    accepted = await store.accept(items, utcnow())
    assert len(accepted) == 1000
    assert len({i.id for i in accepted}) == 1000


async def test_same_message_id_on_another_channel_is_not_a_duplicate(store):
    from dataclasses import replace

    await store.accept([item("m1")], utcnow())
    other = replace(item("m1"), channel="other_channel")
    assert len(await store.accept([other], utcnow())) == 1


async def test_claim_returns_pending_items_of_a_conversation_in_order(store):
    await store.accept([item("a1"), item("b1", customer="cust-2"), item("a2")], utcnow())
    first = await store.claim_next_inbound(CHANNEL, ("acct-1", "cust-1"))
    assert first.message_id == "a1" and first.attempts == 1
    second = await store.claim_next_inbound(CHANNEL, ("acct-1", "cust-1"))
    assert second.message_id == "a2"
    assert await store.claim_next_inbound(CHANNEL, ("acct-1", "cust-1")) is None
    await store.finish_inbound(first.id, InboxState.DONE, utcnow())
    _, state = await store.inbound(CHANNEL, "a1")
    assert state is InboxState.DONE


async def test_recover_resets_interrupted_items_and_lists_conversations(store):
    await store.accept([item("a1"), item("b1", customer="cust-2")], utcnow())
    await store.claim_next_inbound(CHANNEL, ("acct-1", "cust-1"))
    await store.enqueue(outbound("k1", customer="cust-3"), utcnow())
    conversations = await store.recover(CHANNEL)
    assert conversations == [("acct-1", "cust-1"), ("acct-1", "cust-2"), ("acct-1", "cust-3")]
    _, state = await store.inbound(CHANNEL, "a1")
    assert state is InboxState.PENDING


async def test_enqueue_is_idempotent_per_key(store):
    stored, created = await store.enqueue(outbound("k1"), utcnow())
    assert created and stored.id
    again, created_again = await store.enqueue(outbound("k1"), utcnow())
    assert not created_again and again.id == stored.id
    head = await store.next_pending_outbound(CHANNEL, ("acct-1", "cust-1"))
    assert head.message.idempotency_key == "k1" and head.state is OutboxState.PENDING


async def test_outbound_updates_and_lookup_by_provider_id(store):
    stored, _ = await store.enqueue(outbound("k1"), utcnow())
    await store.update_outbound(stored.id, utcnow(), state=OutboxState.SENT, attempts=2, provider_message_id="wamid.1")
    record = await store.outbound_by_provider_id(CHANNEL, "wamid.1")
    assert record.state is OutboxState.SENT and record.message.attempts == 2
    assert await store.next_pending_outbound(CHANNEL, ("acct-1", "cust-1")) is None


async def test_status_is_the_highest_ever_reported(store):
    def status(name: str) -> StatusUpdate:
        return StatusUpdate(channel=CHANNEL, provider_message_id="wamid.1", status=name)

    await store.record_statuses([status("read")], utcnow())
    await store.record_statuses([status("delivered"), status("delivered"), status("sent")], utcnow())
    assert (await store.current_status(CHANNEL, "wamid.1")).status == "read"
    await store.record_statuses([status("failed")], utcnow())
    assert (await store.current_status(CHANNEL, "wamid.1")).status == "failed"
    await store.record_statuses([status("in_orbit")], utcnow())  # unknown words are kept, rank 0
    assert (await store.current_status(CHANNEL, "wamid.1")).status == "failed"
    assert await store.current_status(CHANNEL, "never-seen") is None


async def test_window_only_moves_forward(store):
    now = utcnow()
    await store.accept([item("m1", sent_at=now - timedelta(hours=1))], now)
    await store.accept([item("m0", sent_at=now - timedelta(hours=5))], now)
    assert await store.last_inbound_at(CHANNEL, "acct-1", "cust-1") == now - timedelta(hours=1)
    await store.accept([item("m2", sent_at=now + timedelta(hours=3))], now)  # clock skew: clamped
    assert await store.last_inbound_at(CHANNEL, "acct-1", "cust-1") == now
    await store.accept([item("r1", opens_window=False, customer="cust-9")], now)
    assert await store.last_inbound_at(CHANNEL, "acct-1", "cust-9") is None


async def test_prune_removes_only_old_finished_rows(store):
    old = utcnow() - timedelta(days=8)
    accepted = await store.accept([item("done-old"), item("pending-old")], old)
    await store.finish_inbound(accepted[0].id, InboxState.DONE, old)
    stored, _ = await store.enqueue(outbound("sent-old"), old)
    await store.update_outbound(stored.id, old, state=OutboxState.SENT, attempts=1)
    await store.accept([item("done-new")], utcnow())
    removed = await store.prune(CHANNEL, utcnow() - timedelta(days=7), utcnow() - timedelta(days=30))
    assert removed == 2
    assert await store.inbound(CHANNEL, "done-old") is None
    assert await store.inbound(CHANNEL, "pending-old") is not None
    assert await store.inbound(CHANNEL, "done-new") is not None
    # Pruned ids can be accepted again only after the horizon: that is the retention contract.
    assert len(await store.accept([item("done-old")], utcnow())) == 1


async def test_last_account_is_the_number_the_customer_wrote_to_last(store):
    now = utcnow()
    await store.accept([item("m1", account="brand-a", sent_at=now - timedelta(hours=2))], now)
    await store.accept([item("m2", account="brand-b", sent_at=now - timedelta(hours=1))], now)
    assert await store.last_account(CHANNEL, "cust-1") == "brand-b"
    assert await store.last_account(CHANNEL, "nobody") is None

"""Takeovers, entry sources and contact addresses (bot/storage/ports.py), on SQLite and PostgreSQL.

Each store is also used by two instances at once (two engines on one database):
exactly one of two simultaneous writers wins where the contract says "first".
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.agent_desk.accounts import AccountStore
from bot.delivery import DeliveryStore
from bot.entry_links import EntrySource, EntrySourceStore
from bot.handoff.store import HandoffStore
from bot.storage import create_engine
from bot.storage.ports import (
    AccountStorage,
    ContactAddressStorage,
    DeliveryStorage,
    EntrySourceStorage,
    HandoffStorage,
    TakeoverStorage,
)
from bot.storage.takeover import TakeoverStore
from channels._contacts import ContactBook

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def other_engine(engine):
    """A second instance's engine on the same database."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    yield other
    other.dispose()


def test_every_implementation_provides_its_port(engine):
    delivery, handoffs, accounts = DeliveryStore(engine), HandoffStore(engine), AccountStore(engine)
    try:
        assert isinstance(delivery, DeliveryStorage)
        assert isinstance(handoffs, HandoffStorage)
        assert isinstance(accounts, AccountStorage)
        assert isinstance(TakeoverStore(engine), TakeoverStorage)
        assert isinstance(EntrySourceStore(engine), EntrySourceStorage)
        assert isinstance(ContactBook(engine), ContactAddressStorage)
    finally:
        delivery.close()
        handoffs.shutdown()
        accounts.shutdown()


async def test_takeover_holds_until_released(engine):
    store = TakeoverStore(engine)
    assert await store.get("instagram", "ig-1", "1784000111") is None
    assert await store.release("instagram", "ig-1", "1784000111", NOW) is False  # nobody owned it
    assert await store.take_over("instagram", "ig-1", "1784000111", "instagram_inbox_echo", NOW) is True
    assert await store.take_over("instagram", "ig-1", "1784000111", "agent_desk", NOW) is False
    record = await store.get("instagram", "ig-1", "1784000111")
    assert record.active and record.reason == "instagram_inbox_echo" and record.since == NOW
    assert await store.is_human("instagram", "ig-1", "1784000111")
    assert not await store.is_human("instagram", "ig-2", "1784000111")  # per business account
    later = NOW + timedelta(minutes=5)
    assert await store.release("instagram", "ig-1", "1784000111", later) is True
    record = await store.get("instagram", "ig-1", "1784000111")
    assert not record.active and record.released_at == later
    assert await store.take_over("instagram", "ig-1", "1784000111", "agent_desk", later) is True  # again


async def test_a_later_answer_restarts_the_quiet_time(engine):
    store = TakeoverStore(engine)
    assert await store.answered("whatsapp_cloud", "1065", "971500000001", NOW) is False  # nobody owns it
    await store.take_over("whatsapp_cloud", "1065", "971500000001", "whatsapp_phone_echo", NOW)
    quiet = timedelta(minutes=30)
    assert (await store.get("whatsapp_cloud", "1065", "971500000001")).quiet_for(quiet, NOW + quiet)
    assert await store.answered("whatsapp_cloud", "1065", "971500000001", NOW + timedelta(minutes=20)) is True
    record = await store.get("whatsapp_cloud", "1065", "971500000001")
    assert record.since == NOW and record.last_human_at == NOW + timedelta(minutes=20)
    assert not record.quiet_for(quiet, NOW + quiet)
    assert record.quiet_for(quiet, NOW + timedelta(minutes=50))


async def test_a_conversation_belongs_to_one_customer_and_a_later_link_moves_it(engine, other_engine):
    from bot.handoff.customer_links import CustomerLinks

    first, second = CustomerLinks(engine), CustomerLinks(other_engine)
    await asyncio.gather(first.link("instagram", "instagram:1784", "C-1", "verification", NOW),
                         second.link("whatsapp_cloud", "whatsapp_cloud:9715", "C-1", "verification", NOW))
    assert [link.sender for link in await second.of("whatsapp_cloud", "whatsapp_cloud:9715")] == [
        "whatsapp_cloud:9715", "instagram:1784"]
    await first.link("instagram", "instagram:1784", "C-2", "backend", NOW + timedelta(minutes=1))
    assert [link.sender for link in await first.of("whatsapp_cloud", "whatsapp_cloud:9715")] == [
        "whatsapp_cloud:9715"]
    assert await first.of("webchat", "s-unknown") == []


async def test_two_instances_taking_over_at_once_agree_on_one(engine, other_engine):
    first, second = TakeoverStore(engine), TakeoverStore(other_engine)
    results = await asyncio.gather(*(
        store.take_over("instagram", "ig-1", f"cust-{n}", "instagram_inbox_echo", NOW)
        for n in range(10) for store in (first, second)))
    assert [results[2 * n] + results[2 * n + 1] for n in range(10)] == [1] * 10  # one True per conversation


async def test_the_first_entry_source_stays(engine, other_engine):
    first, second = EntrySourceStore(engine), EntrySourceStore(other_engine)
    ramadan = EntrySource(ref="snap-ramadan", source="snapchat", campaign="ramadan")
    results = await asyncio.gather(*(
        store.record("whatsapp_cloud", f"97150000{n:04d}", ramadan, NOW) for n in range(10)
        for store in (first, second)))
    assert sum(results) == 10  # one per conversation, whichever instance was first
    other = EntrySource(ref="ig-bio", source="instagram", campaign=None)
    assert await first.record("whatsapp_cloud", "971500000000", other, NOW + timedelta(days=1)) is False
    assert await second.get("whatsapp_cloud", "971500000000") == (ramadan, NOW)
    assert await second.get("whatsapp_cloud", "971599999999") is None


async def test_a_conversation_is_addressed_as_its_latest_message_came(engine, other_engine):
    book, elsewhere = ContactBook(engine), ContactBook(other_engine)
    await book.remember("whatsapp_cloud", "acc-1", "971501234567", "phone", "971501234567", NOW)
    await elsewhere.remember("whatsapp_cloud", "acc-2", "971501234567", "user_id", "AE.bsuid.1",
                             NOW + timedelta(minutes=1))
    assert await book.lookup("whatsapp_cloud", "971501234567") == {"kind": "user_id", "value": "AE.bsuid.1"}
    assert await book.lookup("whatsapp_cloud", "971501234567", account="acc-1") == {
        "kind": "phone", "value": "971501234567"}
    assert await elsewhere.lookup("whatsapp_cloud", "971500000000") is None

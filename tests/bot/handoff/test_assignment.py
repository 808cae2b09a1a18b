"""Offering handoffs to agents (bot.handoff.assignment), on SQLite and PostgreSQL, without Rasa.

The clock is a variable the test moves; the database, the event log and the hub are real.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, List

import pytest

from bot.config import Config
from bot.delivery import utcnow
from bot.handoff.assignment import Assigner, choose
from bot.handoff.assignment_store import AssignmentStore, Candidate
from bot.handoff.config import load_settings
from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor, Conflict, DeskOperations
from bot.handoff.outbound import ChannelRegistry
from bot.handoff.records import HandoffRecord
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.handoff.window_store import WindowStore

START = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
TIMEOUT = 60


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(engine, agents, clock):
    assigner = build(engine, agents, clock, TIMEOUT)
    yield assigner
    stop(assigner)


def stop(assigner: Assigner) -> None:
    for store in (assigner.service.store, assigner.store, assigner.windows):
        store.shutdown()


def build(engine, agents, clock, timeout: float) -> Assigner:
    settings = load_settings(Config({"MAJLIS_BUSINESS_HOURS": "always", "MAJLIS_HANDOFF_UPDATE_SECONDS": "0",
                                     "MAJLIS_OFFER_TIMEOUT_SECONDS": str(timeout)}))
    store = HandoffStore(engine)
    # No trackers: offers never touch a conversation's tracker.
    service = HandoffService(settings=settings, store=store, registry=ChannelRegistry(),
                             trackers=None, clock=clock)  # type: ignore[arg-type]
    assignment, windows = AssignmentStore(engine), WindowStore(engine)

    async def names(ids):
        return {a.id: a.display_name for a in agents if a.id in ids}

    async def actor(agent_id):
        return next((a.actor() for a in agents if a.id == agent_id), None)

    desk = DeskOperations(service, names, actor, windows=windows)
    return Assigner(service, assignment, desk, windows)


async def handoff(assigner: Assigner, customer: str, *, queue: str = "general", language: str = "ar",
                  priority: int = 2, dialect: Any = None) -> HandoffRecord:
    record, _ = await assigner.service.store.create(
        channel="whatsapp_cloud", account="1122", customer=customer, queue=queue, language=language,
        priority=priority, reason="customer_request", context={"dialect": dialect or {}}, now=assigner.service.clock(),
        event={})
    return record


async def offered_to(assigner: Assigner, record: HandoffRecord) -> List[int]:
    return [o.agent_id for o in await assigner.store.offers() if o.handoff_id == record.id]


def candidate(agent_id: int, *, languages=("ar",), queues=("general",), load=0, capacity=None,
              offered=None, role="agent") -> Candidate:
    return Candidate(actor=Actor(id=agent_id, name=f"a{agent_id}", role=role, languages=frozenset(languages),
                                 queues=frozenset(queues)), load=load, capacity=capacity, last_offered_at=offered)


def test_choose_skill_capacity_fewest_conversations_and_round_robin() -> None:
    record = HandoffRecord(id=1, public_id="p", channel="whatsapp_cloud", account="1", customer="c",
                           state=OwnerState.QUEUED, queue="billing", language="en", priority=2, reason="r",
                           agent_id=None, version=1, created_at=START)
    english_billing = [candidate(1, languages=("en",), queues=("billing",), load=2),
                       candidate(2, languages=("en",), queues=("billing",), load=1),
                       candidate(3, languages=("ar",), queues=("billing",)),          # wrong language
                       candidate(4, languages=("en",), queues=("general",)),          # wrong queue
                       candidate(5, languages=("en",), queues=("*",), role="trainer")]
    assert choose(record, english_billing, set(), 3).actor.id == 2
    assert choose(record, english_billing, {2}, 3).actor.id == 1  # passed over this round
    full = [candidate(1, languages=("en",), queues=("billing",), load=1, capacity=1),
            candidate(2, languages=("en",), queues=("billing",), load=3)]
    assert choose(record, full, set(), 3) is None  # both at capacity (one explicit, one the default)
    tie = [candidate(1, languages=("en",), queues=("billing",), offered=START),
           candidate(2, languages=("en",), queues=("billing",), offered=START - timedelta(minutes=5))]
    assert choose(record, tie, set(), 3).actor.id == 2  # offered longest ago


def test_choose_prefers_a_reader_of_the_dialect() -> None:
    record = HandoffRecord(id=1, public_id="p", channel="whatsapp_cloud", account="1", customer="c",
                           state=OwnerState.QUEUED, queue="general", language="ar", priority=2, reason="r",
                           agent_id=None, version=1, created_at=START,
                           context={"dialect": {"region": "maghrebi", "confidence": 0.9}})
    agents = [candidate(1), candidate(2, languages=("ar", "ar-maghrebi"), load=2)]
    assert choose(record, agents, set(), 3).actor.id == 2
    assert choose(record, agents, {2}, 3).actor.id == 1  # nobody else reads Darija: any Arabic agent


async def open_offer(assigner: Assigner, record: HandoffRecord):
    return next((o for o in await assigner.store.offers() if o.handoff_id == record.id), None)


async def test_offer_decline_timeout_and_capacity(world: Assigner, agents, clock: Clock) -> None:
    noura, fahad, john, _sup = agents  # general+billing/ar, general/ar+en, billing/en, supervisor
    store = world.store
    for agent in (noura, fahad, john):
        await store.set_available(agent.id, True, clock())
    store.set_capacity_now(fahad.id, 1, clock())
    first = await handoff(world, "971500000001")
    await world.step()
    assert await offered_to(world, first) == [noura.id]  # equal load, never offered: the lowest id
    second = await handoff(world, "971500000002")
    await world.step()
    assert await offered_to(world, second) == [fahad.id]  # Noura's open offer counts as a conversation
    third = await handoff(world, "971500000003")
    await world.step()
    assert await offered_to(world, third) == [noura.id]  # Fahad is at his capacity of 1

    await world.decline(noura.actor(), (await open_offer(world, third)).id)
    await world.step()
    assert await open_offer(world, third) is None  # Fahad is full, John serves neither queue nor language
    await world.decline(fahad.actor(), (await open_offer(world, second)).id)
    await world.step()
    assert (await open_offer(world, second)).agent_id == noura.id  # the next agent

    late = await open_offer(world, first)
    clock.advance(TIMEOUT + 1)
    await world.step()  # every open offer timed out: each goes to the next agent, if any
    assert (await open_offer(world, first)).agent_id == fahad.id
    assert await open_offer(world, second) is None and await open_offer(world, third) is None
    with pytest.raises(Conflict):
        await world.accept(noura.actor(), late.id)  # her offer timed out: a clean refusal
    taken = await world.accept(fahad.actor(), (await open_offer(world, first)).id)
    assert taken.state == OwnerState.ASSIGNED and taken.agent_id == fahad.id
    assert await store.loads() == {fahad.id: 1}  # what the supervisor page shows: nobody else holds anything
    kinds = [e.type for e in await world.service.store.events_since(0) if e.handoff_id == first.id]
    assert kinds == ["handoff.created", "handoff.offered", "handoff.offer_expired", "handoff.offered",
                     "handoff.claimed"]


async def test_an_accept_after_the_deadline_fails_even_before_the_timer(world: Assigner, agents, clock: Clock) -> None:
    noura = agents[0]
    await world.store.set_available(noura.id, True, clock())
    record = await handoff(world, "971500000004")
    await world.step()
    offer = await open_offer(world, record)
    clock.advance(TIMEOUT)
    with pytest.raises(Conflict):
        await world.accept(noura.actor(), offer.id)
    assert (await world.service.store.get(record.public_id)).state == OwnerState.QUEUED


async def test_no_offers_when_away_or_the_queue_is_switched_off(world: Assigner, agents, clock: Clock) -> None:
    noura, _fahad, john, sup = agents
    billing = await handoff(world, "971500000005", queue="billing", language="en")
    await world.step()
    assert await open_offer(world, billing) is None  # nobody is available
    await world.store.set_available(john.id, True, clock())
    await world.store.set_auto_assign("billing", False, sup.id, clock())
    await world.step()
    assert await open_offer(world, billing) is None
    assert (await world.store.auto_assign(["general", "billing"], True)) == {"general": True, "billing": False}
    await world.store.set_auto_assign("billing", True, sup.id, clock())
    await world.step()
    assert (await open_offer(world, billing)).agent_id == john.id
    await world.store.set_available(noura.id, False, clock())


async def test_offers_survive_a_restart(engine, agents) -> None:
    """Real time here: the restarted process must time the stored offer out by itself."""
    noura, fahad = agents[0], agents[1]
    before = build(engine, agents, utcnow, 1.5)
    for agent in (noura, fahad):
        await before.store.set_available(agent.id, True, utcnow())
    record = await handoff(before, "971500000006")
    await before.step()
    assert (await open_offer(before, record)).agent_id == noura.id
    stop(before)
    # A new process on the same database, started after the first one stopped; no event arrives.
    after = build(engine, agents, utcnow, 1.5)
    await after.start()
    try:
        assert (await open_offer(after, record)).agent_id == noura.id
        for _ in range(200):
            offer = await open_offer(after, record)
            if offer is not None and offer.agent_id == fahad.id:
                break
            await asyncio.sleep(0.05)
        assert offer is not None and offer.agent_id == fahad.id, "the stored offer's deadline was not re-armed"
    finally:
        await after.stop()
        stop(after)


async def test_a_released_handoff_is_offered_to_someone_else(world: Assigner, agents, clock: Clock) -> None:
    noura, fahad = agents[0], agents[1]
    await world.store.set_available(noura.id, True, clock())
    record = await handoff(world, "971500000007")
    await world.step()
    await world.accept(noura.actor(), (await open_offer(world, record)).id)
    await world.step()
    assert await open_offer(world, record) is None
    clock.advance(1)
    await world.desk.release(noura.actor(), record.public_id)
    await world.step()
    assert await open_offer(world, record) is None  # she gave it back: not offered to her again
    await world.store.set_available(fahad.id, True, clock())
    await world.step()
    assert (await open_offer(world, record)).agent_id == fahad.id  # a new round for everyone else
    await world.decline(fahad.actor(), (await open_offer(world, record)).id)
    clock.advance(1)
    await world.desk.transfer(agents[3].actor(), record.public_id, queue="general")
    await world.step()
    assert (await open_offer(world, record)).agent_id == noura.id  # a transfer starts yet another round


async def test_a_claim_by_hand_withdraws_the_offer(world: Assigner, agents, clock: Clock) -> None:
    noura, fahad = agents[0], agents[1]
    await world.store.set_available(noura.id, True, clock())
    record = await handoff(world, "971500000008")
    await world.step()
    offer = await open_offer(world, record)
    await world.desk.claim(fahad.actor(), record.public_id)
    await world.step()
    assert await open_offer(world, record) is None
    with pytest.raises(Conflict):
        await world.accept(noura.actor(), offer.id)


async def test_queue_order_priority_then_window_then_waiting(world: Assigner, agents, clock: Clock) -> None:
    sup = agents[3].actor()
    late = await handoff(world, "971500000010")
    soon = await handoff(world, "971500000011")
    none = await handoff(world, "971500000012")
    urgent = await handoff(world, "971500000013", priority=3)
    await world.windows.set_window(late.id, START + timedelta(hours=20), clock())
    await world.windows.set_window(soon.id, START + timedelta(minutes=30), clock())
    await world.windows.set_window(none.id, None, clock())
    records, total = await world.desk.visible(sup)
    assert [r.id for r in records] == [urgent.id, soon.id, late.id, none.id] and total == 4


async def test_a_window_is_escalated_once_until_it_moves(world: Assigner, agents, clock: Clock) -> None:
    record = await handoff(world, "971500000014")
    await world.windows.set_window(record.id, START + timedelta(minutes=30), clock())
    assert await world.windows.mark_escalated(record.id, clock())
    assert not await world.windows.mark_escalated(record.id, clock())
    mark = await world.windows.set_window(record.id, START + timedelta(minutes=30), clock())
    assert mark.escalated_at is not None  # same window: still escalated
    mark = await world.windows.set_window(record.id, START + timedelta(hours=24), clock())
    assert mark.escalated_at is None  # the customer wrote again: a new window


async def test_one_open_offer_per_handoff_under_concurrency(world: Assigner, agents, clock: Clock) -> None:
    record = await handoff(world, "971500000009")
    made = await asyncio.gather(*(world.store.create_offer(record.id, agent.id, clock(), clock() + timedelta(minutes=1))
                                  for agent in agents))
    assert sum(offer is not None for offer in made) == 1


async def test_going_away_hands_open_offers_on(world: Assigner, agents, clock: Clock) -> None:
    noura, fahad = agents[0], agents[1]
    for agent in (noura, fahad):
        await world.store.set_available(agent.id, True, clock())
    record = await handoff(world, "971500000015")
    await world.step()
    assert (await open_offer(world, record)).agent_id == noura.id
    await world.set_available(noura.id, False)
    await world.step()
    assert (await open_offer(world, record)).agent_id == fahad.id
    await world.set_available(fahad.id, False)
    await world.set_available(noura.id, True)
    await world.step()
    assert (await open_offer(world, record)).agent_id == noura.id  # going away was not a refusal

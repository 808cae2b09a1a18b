"""The delivery store's claim, finish and reply steps, exactly: which item a worker gets,
what its turn's end records, and what a stored reply needs to go out at once (SQLite and
PostgreSQL).  Each assertion holds a value a worker acts on (bench/results/mutation.md)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.delivery import InboxState, OutboundMessage, OutboxState, utcnow
from bot.storage.schema import inbox
from tests.bot.delivery.helpers import CHANNEL, item

CONV = ("acct-1", "cust-1")
OTHER_CHANNEL = "other_channel"


def reply(key: str, *, customer: str = "cust-1", channel: str = CHANNEL) -> OutboundMessage:
    return OutboundMessage(channel=channel, account="acct-1", customer=customer, payload={"text": f"رد {key}"},
                           idempotency_key=key, inbound_message_id=f"in-{key}")


def ended(store, message_id: str):
    """The stored end of an item's last attempt: (state, finished_at, last_error)."""
    with store.engine.connect() as conn:
        return conn.execute(sa.select(inbox.c.state, inbox.c.finished_at, inbox.c.last_error).where(
            inbox.c.channel == CHANNEL, inbox.c.message_id == message_id)).one()


async def test_accept_keeps_what_the_provider_sent_and_answers_in_arrival_order(store):
    sent_at = utcnow() - timedelta(minutes=3)
    # "z…" arrives first: the answer follows arrival (the id), not the message ids' order.
    accepted = await store.accept([item("z-first", text="مرحبا", sent_at=sent_at, opens_window=False),
                                   item("a-second")], utcnow())
    assert [i.message_id for i in accepted] == ["z-first", "a-second"]
    claimed = await store.claim_next_inbound(CHANNEL, CONV)
    assert (claimed.message_id, claimed.sent_at, claimed.opens_window, dict(claimed.payload)) == (
        "z-first", sent_at, False, {"text": "مرحبا"})


async def test_finish_and_claim_next_ends_one_item_and_claims_the_next_in_one_step(store):
    now = utcnow()
    await store.accept([item("a1"), item("b1", customer="cust-2"), item("a2")], now)
    first, newest = await store.finish_and_claim_next(CHANNEL, CONV, None, now)
    assert (first.message_id, first.attempts, newest) == ("a1", 1, None)

    k1, _ = await store.enqueue(reply("k1"), now)
    k2, _ = await store.enqueue(reply("k2"), now)
    # Newer rows that are not this conversation's pending replies must not count.
    await store.enqueue(reply("k3", customer="cust-2"), now)
    await store.enqueue(reply("k4", channel=OTHER_CHANNEL), now)
    sent, _ = await store.enqueue(reply("k5"), now)
    await store.update_outbound(sent.id, now, state=OutboxState.SENT, attempts=1)

    second, newest = await store.finish_and_claim_next(CHANNEL, CONV, (first.id, InboxState.DONE, None), now)
    assert (second.message_id, second.attempts, newest) == ("a2", 1, k2.id)
    assert ended(store, "a1")[0] == InboxState.DONE.value and ended(store, "a1")[1] is not None
    assert ended(store, "a1")[2] is None

    # Put back (e.g. the Rasa process was unavailable): pending again, no end time, the
    # error kept; the next claim counts a second attempt.
    again, _ = await store.finish_and_claim_next(CHANNEL, CONV, (second.id, InboxState.PENDING, "Timeout"), now)
    assert (again.message_id, again.attempts) == ("a2", 2)
    state, finished_at, error = ended(store, "a2")
    assert (state, finished_at, error) == (InboxState.PROCESSING.value, None, "Timeout")

    nothing, _ = await store.finish_and_claim_next(CHANNEL, CONV, (again.id, InboxState.FAILED, "E" * 300), now)
    assert nothing is None
    state, finished_at, error = ended(store, "a2")
    assert state == InboxState.FAILED.value and finished_at is not None and error == "E" * 255
    other = await store.claim_next_inbound(CHANNEL, ("acct-1", "cust-2"))
    assert other.message_id == "b1" and other.attempts == 1


async def test_a_put_back_item_has_no_end_time(store):
    await store.accept([item("p1")], utcnow())
    claimed = await store.claim_next_inbound(CHANNEL, CONV)
    await store.finish_inbound(claimed.id, InboxState.PENDING, utcnow(), "")
    assert ended(store, "p1") == (InboxState.PENDING.value, None, None)


async def test_a_stored_reply_knows_whether_it_is_first_in_line_and_when_the_customer_wrote(store):
    wrote = utcnow() - timedelta(hours=2)
    await store.accept([item("in-1", sent_at=wrote)], utcnow())

    first, created, first_in_line, last_inbound = await store.enqueue_reply(reply("r1"), utcnow())
    assert (created, first_in_line, last_inbound) == (True, True, wrote)
    assert first.id and first.attempts == 0 and first.inbound_message_id == "in-r1"
    second, created, first_in_line, last_inbound = await store.enqueue_reply(reply("r2"), utcnow())
    assert (created, first_in_line, last_inbound) == (True, False, wrote) and second.id > first.id

    again, created, first_in_line, last_inbound = await store.enqueue_reply(reply("r1"), utcnow())
    assert (again.id, created, first_in_line, last_inbound) == (first.id, False, False, None)

    # Another customer: first in line, and never wrote (no window).
    _, created, first_in_line, last_inbound = await store.enqueue_reply(reply("r3", customer="cust-9"), utcnow())
    assert (created, first_in_line, last_inbound) == (True, True, None)

    stored = {r.message.idempotency_key: r for r in await store.outbound_records(CHANNEL, "cust-1")}
    assert sorted(stored) == ["r1", "r2"]
    assert stored["r1"].message.attempts == 0 and stored["r1"].state is OutboxState.PENDING
    assert stored["r1"].message.inbound_message_id == "in-r1"
    assert dict(stored["r2"].message.payload) == {"text": "رد r2"}

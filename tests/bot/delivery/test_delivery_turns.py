"""bot/delivery: what one turn costs and when its replies leave, without weakening the guarantees.

A reply is stored durably and then sent by the conversation's sender task while the
turn goes on; a turn with one reply takes five database transactions (accept, claim,
store the reply, record the send, finish + claim the next).  Runs on SQLite and
PostgreSQL (the ``engine`` fixture), with a scripted sender.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import sqlalchemy as sa

from bot.delivery import InboxState, OutboundMessage, OutboxState
from bot.storage import is_sqlite
from tests.bot.delivery.helpers import CHANNEL, EchoHandler, ScriptedSender, eventually, item






@dataclass
class SlowSender(ScriptedSender):
    """Each send takes ``seconds`` (a provider round trip)."""

    seconds: float = 0.02

    async def send(self, message):
        await asyncio.sleep(self.seconds)
        return await super().send(message)


async def test_reply_leaves_while_the_turn_goes_on(make):
    sender = ScriptedSender()
    turn_may_end = asyncio.Event()

    async def handler(inbound, outbox):
        await outbox.add({"text": "first"}, kind="text")
        await turn_may_end.wait()  # e.g. Rasa predicting the next action, saving the tracker

    delivery = await make(sender, handler)
    await delivery.accept([item("m1")])
    await eventually(lambda: sender.texts() == ["first"])  # sent before the turn ended
    turn_may_end.set()
    await delivery.drain()
    _, state = await delivery.store.inbound(CHANNEL, "m1")
    assert state is InboxState.DONE


async def test_a_one_reply_turn_takes_five_transactions(make, store):
    sender = ScriptedSender()
    delivery = await make(sender)
    await delivery.accept([item("m0")])  # warm-up: migrations, first connections
    await delivery.drain()
    begins = []

    def count(conn):
        begins.append(conn)

    sa.event.listen(store.engine, "begin", count)
    try:
        await delivery.accept([item("m1", text="a")])
        await delivery.drain()
    finally:
        sa.event.remove(store.engine, "begin", count)
    assert sender.texts() == ["hi#0", "a#0"]
    # accept; claim; store the reply; record the send; finish + look for the next item.
    # (PostgreSQL runs calls in parallel threads: the last look may see the reply still
    # pending while its send is being recorded, and ask the sender for one more read.)
    assert len(begins) <= (5 if is_sqlite(store.engine) else 6)


async def test_crash_in_the_middle_of_a_turn_reprocesses_without_sending_twice(make, store):
    sender = ScriptedSender()
    never = asyncio.Event()

    async def dies_after_one_reply(inbound, outbox):
        await outbox.add({"text": "a#0"}, kind="text")
        await never.wait()  # the process dies here

    first = await make(sender, dies_after_one_reply)
    await first.accept([item("m1", text="a")])
    await eventually(lambda: sender.texts() == ["a#0"])
    await first.stop(timeout=0.1)
    _, state = await store.inbound(CHANNEL, "m1")
    assert state is InboxState.PROCESSING  # not finished: the next start processes it again
    handler = EchoHandler(replies=2)
    second = await make(sender, handler)
    await second.drain()
    assert handler.seen == ["m1"]
    assert sender.texts() == ["a#0", "a#1"]  # the same keys: the first reply is not sent again
    _, state = await store.inbound(CHANNEL, "m1")
    assert state is InboxState.DONE


async def test_replies_keep_their_order_across_turns_while_sends_are_slow(make):
    sender = SlowSender(seconds=0.02)
    delivery = await make(sender, EchoHandler(replies=2))
    await delivery.accept([item("m1", text="a"), item("m2", text="b")])
    await delivery.accept([item("m3", text="c")])
    await delivery.drain()
    assert sender.texts() == ["a#0", "a#1", "b#0", "b#1", "c#0", "c#1"]
    assert {r.state for r in await delivery.outbox_records()} == {OutboxState.SENT}


async def test_agent_message_while_a_turn_is_sending_goes_out_once_in_order(make):
    sender = SlowSender(seconds=0.03)
    delivery = await make(sender, EchoHandler(replies=2))
    await delivery.accept([item("m1", text="a")])
    await eventually(lambda: len(sender.attempts) == 1)
    agent = OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1",
                            payload={"text": "agent"}, idempotency_key="agent-reply-1")
    assert await delivery.enqueue(agent) is not None
    await delivery.drain()
    assert sender.texts() == ["a#0", "a#1", "agent"]


async def test_finish_and_claim_next_is_one_step(store):
    await store.setup()
    conv = ("acct-1", "cust-1")
    await store.accept([item("m1"), item("m2")], item("x").sent_at)
    first, newest_reply = await store.finish_and_claim_next(CHANNEL, conv, None, item("x").sent_at)
    assert first.message_id == "m1" and first.attempts == 1 and newest_reply is None
    second, _ = await store.finish_and_claim_next(CHANNEL, conv, (first.id, InboxState.DONE, None),
                                                  item("x").sent_at)
    assert second.message_id == "m2"
    _, state = await store.inbound(CHANNEL, "m1")
    assert state is InboxState.DONE
    # A failed attempt goes back to pending and is claimed again, with one more attempt.
    again, _ = await store.finish_and_claim_next(CHANNEL, conv, (second.id, InboxState.PENDING, "Boom"),
                                                 item("x").sent_at)
    assert again.message_id == "m2" and again.attempts == 2


async def test_enqueue_reply_says_whether_the_reply_is_first_in_line(store):
    await store.setup()
    now = item("x").sent_at
    await store.accept([item("m1")], now)

    def reply(key):
        return OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1", payload={"text": key},
                               idempotency_key=key, inbound_message_id="m1")

    stored, created, first, last_inbound = await store.enqueue_reply(reply("m1:0"), now)
    assert created and first and stored.id and last_inbound == now.replace(microsecond=now.microsecond)
    _, created, first, _ = await store.enqueue_reply(reply("m1:1"), now)
    assert created and not first  # m1:0 is still pending: it goes first
    again, created, first, _ = await store.enqueue_reply(reply("m1:0"), now)
    assert not created and not first and again.id == stored.id
    [pending, _], window = await store.pending_outbound(CHANNEL, ("acct-1", "cust-1"))
    assert pending.message.idempotency_key == "m1:0" and window == last_inbound


async def test_message_stored_by_another_process_while_sending_goes_out_after_a_kick(make, store):
    sender = SlowSender(seconds=0.03)
    delivery = await make(sender, EchoHandler(replies=2))
    await delivery.accept([item("m1", text="a")])
    await eventually(lambda: len(sender.attempts) == 1)
    # Another process (e.g. the webhook receiver queuing a template) stores a row, then
    # wakes this one with a kick; the running sender read the outbox before the row existed.
    other = OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1",
                            payload={"text": "from elsewhere"}, idempotency_key="elsewhere-1", free_form=False)
    await store.enqueue(other, item("x").sent_at)
    delivery.kick(("acct-1", "cust-1"))
    await delivery.drain()
    assert sender.texts() == ["a#0", "a#1", "from elsewhere"]

"""Sends in doubt (bot/delivery/in_doubt.py), on SQLite and PostgreSQL, without a model.

A process "dies mid-send" here by storing a reply the way a sender does just before its
request (first in line: claimed and marked ``sending_since``) and never finishing it; a
new :class:`Delivery` under the same instance id then starts, as a restart does.
"""
from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.delivery import Delivery, DeliveryStore, OutboundMessage, OutboxState, StatusUpdate
from bot.delivery import utcnow
from tests.bot.delivery.helpers import CHANNEL, FAST, TRANSIENT, EchoHandler, ScriptedSender, drained_until, item

CONV = ("acct-1", "cust-1")


def reply(key: str) -> OutboundMessage:
    return OutboundMessage(channel=CHANNEL, account=CONV[0], customer=CONV[1], payload={"text": key},
                           idempotency_key=key, inbound_message_id=key.split(":")[0])


def sent_status(key: str, provider_id: str) -> StatusUpdate:
    return StatusUpdate(channel=CHANNEL, provider_message_id=provider_id, status="sent", callback_key=key,
                        account=CONV[0])


async def interrupted(engine, window: timedelta) -> DeliveryStore:
    """A store whose first reply "m1:0" was being sent when its process died, "m1:1" waiting behind it."""
    store = DeliveryStore(engine, owner="rasa-1", in_doubt_window=window)
    await store.setup()
    await store.accept([item("m1")], utcnow())  # the customer's message (it opens the window); its turn ran
    _, created, first, _ = await store.enqueue_reply(reply("m1:0"), utcnow())
    assert created and first  # stored claimed and marked: its request would leave right now
    await store.enqueue_reply(reply("m1:1"), utcnow())
    return store


async def restarted(store: DeliveryStore, sender: ScriptedSender) -> Delivery:
    delivery = Delivery(channel=CHANNEL, store=store, sender=sender, handler=EchoHandler(), retry=FAST)
    await delivery.start()
    return delivery


def states(records):
    return {r.message.idempotency_key: (r.state, r.provider_message_id) for r in records}


async def test_an_interrupted_send_waits_for_its_status_and_is_not_sent_again(engine):
    store = await interrupted(engine, timedelta(minutes=10))
    sender = ScriptedSender()
    delivery = await restarted(store, sender)
    try:
        async def in_doubt() -> bool:
            [first, _] = await delivery.outbox_records()
            return first.next_attempt_at is not None
        await drained_until(delivery, in_doubt)
        assert sender.attempts == []  # in doubt: neither it nor the reply behind it (order) goes out
        await delivery.record_statuses([sent_status("m1:0", "wamid.first")])  # Meta's status, key echoed
        await drained_until(delivery, lambda: _all_sent(delivery))
        assert states(await store.outbound_records(CHANNEL))["m1:0"] == (OutboxState.SENT, "wamid.first")
    finally:
        await delivery.stop(timeout=1)
        store.close()
    assert [m.idempotency_key for m in sender.attempts] == ["m1:1"]  # only the reply that never went out


async def _all_sent(delivery: Delivery) -> bool:
    return {r.state for r in await delivery.outbox_records()} == {OutboxState.SENT}


async def test_an_interrupted_send_without_status_is_sent_once_more_after_the_window(engine):
    window = 0.5
    marked = time.monotonic()
    store = await interrupted(engine, timedelta(seconds=window))
    sender = TimedSender()
    delivery = await restarted(store, sender)
    try:
        await drained_until(delivery, lambda: _all_sent(delivery))
    finally:
        await delivery.stop(timeout=1)
        store.close()
    assert [m.idempotency_key for m in sender.attempts] == ["m1:0", "m1:1"]  # each exactly once more / once
    assert sender.times[0] - marked >= window  # not before the window (marked no later than `marked`)
    assert sender.times[1] >= sender.times[0]  # and the reply behind it only after it


class TimedSender(ScriptedSender):
    def __init__(self) -> None:
        super().__init__()
        self.times: list = []

    async def send(self, message):
        self.times.append(time.monotonic())
        return await super().send(message)


async def test_a_reply_is_marked_sending_in_the_database_before_its_request_leaves(make, store):
    seen = []

    class Checking(ScriptedSender):
        async def send(self, message):
            [record] = [r for r in await store.outbound_records(CHANNEL) if r.message.id == message.id]
            seen.append((message.idempotency_key, record.sending_since is not None))
            return await super().send(message)

    sender = Checking()
    sender.fail(TRANSIENT)  # the retry goes through the batch path (claim, mark, send)
    delivery = await make(sender, EchoHandler(replies=2))
    await delivery.accept([item("m1")])
    await drained_until(delivery, lambda: _all_sent(delivery))
    assert seen and all(marked for _key, marked in seen), seen
    assert {r.sending_since for r in await delivery.outbox_records()} == {None}  # cleared with the outcome


async def test_a_late_failure_does_not_undo_a_status_that_settled_the_send(make):
    sender = ScriptedSender(hang=asyncio.Event())
    sender.fail(TRANSIENT)  # our side timed out ... while the provider had accepted it
    delivery = await make(sender, EchoHandler(replies=1))
    await delivery.accept([item("m1")])
    while not sender.attempts:
        await asyncio.sleep(0.01)
    await delivery.record_statuses([sent_status("m1:0", "wamid.1")])  # the status came first
    sender.hang.set()
    await delivery.drain()
    [record] = await delivery.outbox_records()
    assert (record.state, record.provider_message_id) == (OutboxState.SENT, "wamid.1")
    assert len(sender.attempts) == 1  # no retry of a message the provider has


async def test_a_status_of_another_number_with_the_same_key_settles_nothing(engine):
    store = await interrupted(engine, timedelta(minutes=10))
    try:
        foreign = StatusUpdate(channel=CHANNEL, provider_message_id="wamid.x", status="sent", callback_key="m1:0",
                               account="another-number")
        await store.record_statuses([foreign], utcnow())
        assert states(await store.outbound_records(CHANNEL))["m1:0"] == (OutboxState.PENDING, None)
    finally:
        store.close()


async def test_a_send_whose_record_failed_is_recorded_later_not_sent_again(make, store, monkeypatch):
    real = store.update_outbound
    failures = [RuntimeError("database went away")]

    async def flaky(*args, **kwargs):
        if failures and kwargs.get("state") is OutboxState.SENT:
            raise failures.pop()
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "update_outbound", flaky)
    monkeypatch.setattr("bot.delivery.service.Delivery._schedule_retry",
                        lambda self, conv, delay, wake: asyncio.get_running_loop().call_later(0.01, wake, conv))
    sender = ScriptedSender()
    delivery = await make(sender, EchoHandler(replies=1))
    await delivery.accept([item("m1")])
    await drained_until(delivery, lambda: _all_sent(delivery))
    assert len(sender.attempts) == 1 and not failures  # the provider's answer was kept and recorded on the retry

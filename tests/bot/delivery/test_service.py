"""bot/delivery/service.py: ordered processing, idempotent sends, retries, window, recovery.

Runs on SQLite and PostgreSQL (the ``engine`` fixture), with a scripted sender.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.delivery import (
    InboxState,
    OutboundMessage,
    OutboxState,
    StatusUpdate,
)
from tests.bot.delivery.helpers import (
    CHANNEL,
    FAST,
    PERMANENT,
    TRANSIENT,
    WINDOW,
    Clock,
    EchoHandler,
    ScriptedSender,
    drained_until,
    eventually,
    item,
)
from tests.logs import printed

TEMPLATE = {"type": "template", "template": {"name": "reengage"}}






async def test_each_message_is_processed_once_and_answered_once(make):
    sender, handler = ScriptedSender(), EchoHandler()
    delivery = await make(sender, handler)
    accepted = await delivery.accept([item("m1", text="a"), item("m1", text="a"), item("m2", text="b")])
    assert [i.message_id for i in accepted] == ["m1", "m2"]
    assert await delivery.accept([item("m1")]) == []
    await delivery.drain()
    assert handler.seen == ["m1", "m2"]
    assert sender.texts() == ["a#0", "b#0"]


async def test_order_is_kept_per_conversation_while_conversations_run_in_parallel(make):
    sender, active, overlap = ScriptedSender(), set(), []
    echo = EchoHandler()

    async def handler(inbound, outbox):
        assert inbound.customer not in active  # never two items of one conversation at once
        active.add(inbound.customer)
        overlap.append(len(active))
        await asyncio.sleep(0.02)
        await echo(inbound, outbox)
        active.discard(inbound.customer)

    delivery = await make(sender, handler)
    batch = [item(f"{c}{n}", customer=c, text=f"{c}{n}") for n in range(4) for c in ("x", "y", "z")]
    await delivery.accept(batch)
    await delivery.drain()
    for customer in ("x", "y", "z"):
        replies = [m.payload["text"] for m in sender.sent if m.customer == customer]
        assert replies == [f"{customer}{n}#0" for n in range(4)]
    assert max(overlap) > 1  # different conversations did overlap


async def test_accept_returns_before_processing(make):
    gate = asyncio.Event()

    async def slow(inbound, outbox):
        await gate.wait()

    delivery = await make(handler=slow)
    await asyncio.wait_for(delivery.accept([item("m1")]), timeout=60)  # the handler never ends until the gate opens
    _, state = await delivery.store.inbound(CHANNEL, "m1")
    assert state in (InboxState.PENDING, InboxState.PROCESSING)
    gate.set()
    await delivery.drain()
    _, state = await delivery.store.inbound(CHANNEL, "m1")
    assert state is InboxState.DONE


async def test_transient_errors_are_retried_with_backoff_then_sent_once(make):
    sender = ScriptedSender()
    sender.fail(TRANSIENT, TRANSIENT)
    delivery = await make(sender)
    await delivery.accept([item("m1", text="a")])

    async def sent() -> bool:
        return bool(sender.sent)

    await drained_until(delivery, sent)
    assert len(sender.attempts) == 3 and sender.texts() == ["a#0"]
    [record] = await delivery.outbox_records()
    assert record.state is OutboxState.SENT and record.message.attempts == 3
    assert record.provider_message_id == "pm-1"


async def test_permanent_error_is_recorded_not_retried_and_logged_without_content(make, caplog):
    sender = ScriptedSender()
    sender.fail(PERMANENT)
    delivery = await make(sender)
    with caplog.at_level(logging.INFO):
        await delivery.accept([item("m1", text="secret text", customer="971500000001")])
        await delivery.drain()
    [record] = await delivery.outbox_records()
    assert record.state is OutboxState.FAILED and record.error_code == 131026
    assert len(sender.attempts) == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("131026" in r.getMessage() for r in warnings)
    logged = printed(caplog.records, logging.DEBUG)  # every record, tracebacks included
    assert "971500000001" not in logged and "secret text" not in logged


async def test_retries_exhausted_is_failed_and_visible(make, caplog):
    sender = ScriptedSender()
    sender.fail(*[TRANSIENT] * FAST.max_attempts)
    delivery = await make(sender)
    with caplog.at_level(logging.WARNING):
        await delivery.accept([item("m1")])

        async def settled() -> bool:
            return (await delivery.outbox_records())[0].state is not OutboxState.PENDING

        await drained_until(delivery, settled)
    [record] = await delivery.outbox_records()
    assert record.state is OutboxState.FAILED and record.message.attempts == FAST.max_attempts
    assert any("retries exhausted" in r.getMessage() for r in caplog.records)


async def test_later_replies_wait_behind_a_retrying_one(make):
    sender = ScriptedSender()
    sender.fail(TRANSIENT)
    delivery = await make(sender, EchoHandler(replies=3))
    await delivery.accept([item("m1", text="a")])

    async def all_sent() -> bool:
        return len(sender.sent) == 3

    await drained_until(delivery, all_sent)
    assert sender.texts() == ["a#0", "a#1", "a#2"]


async def test_reprocessing_after_a_crash_never_sends_twice(make, store):
    sender = ScriptedSender()
    first = await make(sender, EchoHandler(replies=2))
    await first.accept([item("m1", text="a")])
    await first.drain()
    assert sender.texts() == ["a#0", "a#1"]
    # Simulate a crash after sending but before the item was marked done.
    accepted = await store.inbound(CHANNEL, "m1")
    await store.finish_inbound(accepted[0].id, InboxState.PENDING, first.clock())
    await first.stop()
    handler = EchoHandler(replies=2)
    second = await make(sender, handler)
    await second.drain()
    assert handler.seen == ["m1"]  # processed again ...
    assert sender.texts() == ["a#0", "a#1"]  # ... but nothing sent twice


async def test_unsent_reply_is_sent_after_restart(make, store):
    # The send was under way: in doubt (bot/delivery/in_doubt.py). With no status echoing its key
    # (this sender has none), it goes out once the window has passed (short here).
    store.core.in_doubt_window = timedelta(seconds=0.2)
    hang = asyncio.Event()
    sender = ScriptedSender(hang=hang)
    first = await make(sender)
    await first.accept([item("m1", text="a")])
    await eventually(lambda: len(sender.attempts) == 1)
    assert not sender.sent
    await first.stop(timeout=0.1)  # the process dies while the send hangs
    sender.hang = None
    second = await make(sender)
    await eventually(lambda: sender.texts() == ["a#0"])
    await second.drain()
    assert sender.texts() == ["a#0"]
    [record] = await second.outbox_records()
    assert record.state is OutboxState.SENT


async def test_transient_failure_is_retried_after_restart(make):
    sender = ScriptedSender()
    sender.fail(TRANSIENT)
    first = await make(sender, retry=FAST.__class__(max_attempts=3, base_delay=30, max_delay=30, min_delay=30))
    await first.accept([item("m1", text="a")])
    await first.drain()
    [record] = await first.outbox_records()
    assert record.state is OutboxState.PENDING and record.next_attempt_at is not None
    await first.stop()
    clock = Clock()
    clock.advance(seconds=31)
    second = await make(sender, clock=clock)
    await second.drain()
    assert sender.texts() == ["a#0"]


async def test_failing_handler_is_retried_then_given_up_without_blocking(make):
    handler = EchoHandler(fail_times={"m1": 99})
    sender = ScriptedSender()
    delivery = await make(sender, handler, processing_attempts=3)
    await delivery.accept([item("m1", text="a"), item("m2", text="b")])
    await delivery.drain()
    assert handler.seen == ["m1", "m1", "m1", "m2"]
    assert sender.texts() == ["b#0"]
    _, state = await delivery.store.inbound(CHANNEL, "m1")
    assert state is InboxState.FAILED


async def test_outside_the_window_the_template_is_sent_once_instead(make):
    clock = Clock()
    sender = ScriptedSender(template=TEMPLATE)
    delivery = await make(sender, EchoHandler(replies=2), clock=clock)
    await delivery.accept([item("m1", sent_at=clock.now - timedelta(hours=25))])
    await delivery.drain()
    assert [m.kind for m in sender.sent] == ["template"]
    assert not sender.sent[0].free_form and sender.sent[0].payload["to"] == "cust-1"
    states = [r.state for r in await delivery.outbox_records()]
    assert states.count(OutboxState.SKIPPED) == 2


async def test_window_closed_without_template_is_recorded(make, caplog):
    clock = Clock()
    sender = ScriptedSender()
    delivery = await make(sender, clock=clock)
    with caplog.at_level(logging.WARNING):
        await delivery.accept([item("m1", sent_at=clock.now - timedelta(days=2))])
        await delivery.drain()
    assert sender.sent == []
    [record] = await delivery.outbox_records()
    assert record.state is OutboxState.SKIPPED
    assert any("no template" in r.getMessage() for r in caplog.records)


async def test_provider_window_error_switches_to_the_template(make):
    sender = ScriptedSender(template=TEMPLATE)
    sender.fail(WINDOW)
    delivery = await make(sender)
    await delivery.accept([item("m1")])
    await delivery.drain()
    assert [m.kind for m in sender.sent] == ["template"]
    records = await delivery.outbox_records()
    assert records[0].state is OutboxState.SKIPPED and records[0].error_code == 131047


async def test_window_failure_reported_by_status_sends_the_template(make):
    sender = ScriptedSender(template=TEMPLATE)
    delivery = await make(sender)
    await delivery.accept([item("m1")])
    await delivery.drain()
    await delivery.record_statuses([
        StatusUpdate(channel=CHANNEL, provider_message_id="pm-1", status="failed",
                     error_code=131047, window_closed=True),
        StatusUpdate(channel=CHANNEL, provider_message_id="pm-1", status="failed",
                     error_code=131047, window_closed=True),
    ])
    await delivery.drain()
    assert [m.kind for m in sender.sent] == ["text", "template"]
    records = await delivery.outbox_records()
    assert records[0].state is OutboxState.FAILED and records[0].error_code == 131047


async def test_statuses_out_of_order_and_for_unknown_messages(make):
    delivery = await make()
    updates = [
        StatusUpdate(channel=CHANNEL, provider_message_id="x", status=s) for s in ("read", "sent", "delivered")
    ] + [StatusUpdate(channel=CHANNEL, provider_message_id="never-sent-by-us", status="failed", error_code=131026)]
    await delivery.record_statuses(updates)
    await delivery.record_statuses(updates)
    assert (await delivery.store.current_status(CHANNEL, "x")).status == "read"
    assert (await delivery.store.current_status(CHANNEL, "never-sent-by-us")).error_code == 131026


async def test_proactive_enqueue_is_idempotent(make):
    sender = ScriptedSender()
    delivery = await make(sender)
    await delivery.accept([item("m1")])
    await delivery.drain()
    message = OutboundMessage(channel=CHANNEL, account="acct-1", customer="cust-1",
                              payload={"text": "agent says hi"}, idempotency_key="agent-reply-42")
    assert await delivery.enqueue(message) is not None
    assert await delivery.enqueue(message) is None
    await delivery.drain()
    assert sender.texts().count("agent says hi") == 1


async def test_prune_keeps_recent_dedupe_records(make):
    delivery = await make()
    await delivery.accept([item("m1")])
    await delivery.drain()
    assert await delivery.prune() == 0
    assert await delivery.accept([item("m1")]) == []

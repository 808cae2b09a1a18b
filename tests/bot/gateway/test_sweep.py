"""bot/gateway/sweep.py: which conversations the Rasa side's safety net wakes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.delivery import DeliveryStore, InboundItem, InboxState, OutboundMessage, OutboxState, utcnow
from bot.gateway.sweep import InboxSweep
from bot.storage import create_engine
from tests.bot.delivery.helpers import eventually


def item(message_id: str, customer: str, account: str = "acc") -> InboundItem:
    return InboundItem(channel="whatsapp_cloud", message_id=message_id, account=account, customer=customer,
                       payload={"text": "x"}, sent_at=None)


@pytest.fixture(params=["file", "memory"])
async def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.sqlite'}" if request.param == "file" else "sqlite://"
    store = DeliveryStore(create_engine(url))
    await store.setup()
    yield store
    store.close()
    store.engine.dispose()


async def test_nothing_pending_nothing_found(store):
    assert await store.waiting_conversations("whatsapp_cloud") == []


async def test_pending_inbox_rows_are_found_processing_and_done_are_not(store):
    now = utcnow()
    await store.accept([item("m1", "c1"), item("m2", "c2"), item("m3", "c3"), item("m4", "c1")], now)
    claimed = await store.claim_next_inbound("whatsapp_cloud", ("acc", "c2"))
    await store.claim_next_inbound("whatsapp_cloud", ("acc", "c3"))
    await store.finish_inbound(claimed.id, InboxState.DONE, now)  # c2 done; c3 processing
    found = await store.waiting_conversations("whatsapp_cloud")
    assert found == [("acc", "c1")]
    assert await store.waiting_conversations("twilio_whatsapp") == []
    # the sweep never resets rows a worker is processing (unlike DeliveryStore.recover)
    assert (await store.inbound("whatsapp_cloud", "m3"))[1] is InboxState.PROCESSING


async def test_never_attempted_outbox_rows_are_found_backed_off_ones_are_not(store):
    now = utcnow()

    def message(key: str, customer: str) -> OutboundMessage:
        return OutboundMessage(channel="whatsapp_cloud", account="acc", customer=customer,
                               payload={"type": "template"}, idempotency_key=key, kind="template", free_form=False)

    fresh, _ = await store.enqueue(message("k1", "c1"), now)
    waiting, _ = await store.enqueue(message("k2", "c2"), now)
    await store.update_outbound(waiting.id, now, state=OutboxState.PENDING, attempts=1,
                                next_attempt_at=now + timedelta(seconds=30))
    found = await store.waiting_conversations("whatsapp_cloud")
    assert found == [("acc", "c1")] and fresh.id


async def test_the_sweep_kicks_every_tick_and_survives_errors(store):
    await store.accept([item("m1", "c1")], utcnow())
    kicked = []
    sweep = InboxSweep(store, "whatsapp_cloud", kicked.append, interval=0.05)
    sweep.start()
    assert sweep.started and sweep.running
    await eventually(lambda: sweep.ticks >= 2)  # it looks again and again (conditions, not sleeps)
    real = store.run_blocking
    failed = []

    async def broken(*_args, **_kwargs):
        failed.append(True)
        raise RuntimeError("database away")

    store.run_blocking = broken  # type: ignore[method-assign]
    await eventually(lambda: len(failed) >= 2)  # a second look after the first error: it survived
    store.run_blocking = real  # type: ignore[method-assign]
    ticks = sweep.ticks
    await eventually(lambda: sweep.ticks > ticks)  # and it works again
    await sweep.stop()
    assert not sweep.started and not sweep.running
    assert set(kicked) == {("acc", "c1")}


async def test_interval_zero_never_looks(store):
    sweep = InboxSweep(store, "whatsapp_cloud", lambda conv: None, interval=0)
    sweep.start()
    assert sweep.started and not sweep.running
    await sweep.stop()

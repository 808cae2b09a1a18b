"""Desk live updates across instances: an event logged by one instance reaches a live view on another.

Two handoff services on one PostgreSQL database, each with its own engine (as two
processes), each with its :class:`DeskSignal`.  A subscriber of instance B's hub (what B's
server-sent-event stream reads) gets the event instance A logged, without B doing anything.
"""
from __future__ import annotations

import asyncio

from bot.cluster.desk_signal import DeskSignal, attach
from bot.delivery import utcnow
from bot.handoff.outbound import ChannelRegistry
from bot.handoff.service import HandoffService
from bot.handoff.store import HandoffStore
from bot.handoff.tracker import TrackerAccess
from bot.storage import create_engine, migrate
from tests.bot.storage.backends import empty, pg_url  # noqa: F401 - fixture
from tests.e2e.handoff_harness import handoff_settings


async def until(condition, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def instance(url: str):
    engine = create_engine(url)
    store = HandoffStore(engine)
    service = HandoffService(settings=handoff_settings(), store=store, registry=ChannelRegistry(),
                             trackers=TrackerAccess(lambda: None))
    return engine, store, service


async def test_an_event_logged_on_one_instance_reaches_a_live_view_on_another(pg_url):  # noqa: F811
    setup = create_engine(pg_url)
    empty(setup)  # tables and the migrations' record: migrate builds them again
    migrate(setup)
    setup.dispose()
    (engine_a, store_a, a), (engine_b, store_b, b) = instance(pg_url), instance(pg_url)
    await store_a.setup()
    signals = []
    try:
        for service, engine in ((a, engine_a), (b, engine_b)):
            service._last_event_id = await service.store.last_event_id()
            signal = attach(service, engine)
            assert isinstance(signal, DeskSignal)
            signals.append(signal)
        # Both listen before A changes anything, so B can only learn of it through the signal.
        await until(lambda: all(signal._listener is not None for signal in signals))
        watching_b = b.hub.subscribe()
        record, created = await store_a.create(
            channel="whatsapp_cloud", account="acct", customer="whatsapp_cloud:971500000001", queue="general",
            language="ar", priority=1, reason="customer_request", context={}, now=utcnow(),
            event={"summary": "يريد التحدث مع موظف"})
        assert created
        await a.flush_events()  # what instance A does after its own change
        event = await asyncio.wait_for(watching_b.queue.get(), timeout=30)
        assert event.type == "handoff.created"
        assert event.payload["handoff_id"] == record.public_id
        # The NOTIFY is sent from a worker thread: wait for the counters, not a fixed time.
        await until(lambda: signals[0].sent >= 1 and signals[1].received >= 1)
    finally:
        for signal in signals:
            await signal.stop()
        for engine in (engine_a, engine_b):
            engine.dispose()


def test_sqlite_needs_no_signal(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'one.sqlite'}")
    assert attach(object(), engine) is None
    engine.dispose()

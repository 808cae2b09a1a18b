"""Desk webhooks with several instances: each delivery is sent by one of them, once.

Two instances are two :class:`WebhookStore` + :class:`WebhookSender` pairs with engines,
thread pools, HTTP sessions and claimer ids of their own on one database (SQLite file,
then a PostgreSQL database of the test's own), sending at the same time to a local
receiver that counts what it gets.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator, Dict, List, Tuple

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.agent_desk.webhooks import WebhookSender, WebhookStore
from bot.handoff.config import WebhookTarget
from bot.handoff.store import HandoffStore
from bot.storage import create_engine
from tests.bot.agent_desk.test_webhooks import receiver
from tests.bot.storage.backends import engine, pg_url  # noqa: F401 - fixtures
from tests.e2e.browser import wait_until

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
SECRET = "whsec-claims"


async def handoffs(engine: Engine, customers: int) -> None:
    """One ``handoff.created`` event, so one pending delivery to "crm", per customer."""
    store = HandoffStore(engine, webhook_targets=lambda _kind: ["crm"])
    try:
        for n in range(customers):
            await store.create(channel="whatsapp_cloud", account="1122", customer=f"9715000001{n:02d}",
                               queue="general", language="ar", priority=2, reason="customer_request",
                               context={"signals": [], "summary": "العميل يسأل عن فاتورته"}, now=NOW, event={})
    finally:
        store.shutdown()


@asynccontextmanager
async def instances(engine: Engine, url: str, lease: timedelta) -> AsyncIterator[List[WebhookSender]]:
    """Two senders on the same database, each with its own engine and claimer id."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    target = WebhookTarget(name="crm", url=url, secret=SECRET, events=frozenset())
    senders = []
    for name, own in (("instance-a", engine), ("instance-b", other)):
        events = HandoffStore(own)
        senders.append(WebhookSender(targets=[target], store=WebhookStore(own, owner=name, lease=lease),
                                     events=events.event, build=lambda e: _body(e), tick=3600))
        await senders[-1].start()
    try:
        yield senders
    finally:
        for sender in senders:
            await sender.stop()
            sender.store.shutdown()
        other.dispose()


async def _body(event) -> Dict[str, object]:
    return {"type": event.type, "event": event.id}


async def test_two_instances_sending_at_once_send_every_desk_webhook_once(engine) -> None:
    await handoffs(engine, 24)
    received: Counter = Counter()

    async def receive(request: web.Request) -> web.Response:
        received[request.headers["X-Majlis-Delivery"]] += 1
        await asyncio.sleep(0)  # let the other instance run while this one is "sending"
        return web.Response(status=200)

    async with receiver(receive) as base:
        async with instances(engine, f"{base}/hook", timedelta(minutes=5)) as (a, b):
            for _ in range(4):  # both look for due deliveries at the same moment, several times
                await asyncio.gather(a.send_due(), b.send_due())
            rows = await a.store.all()
    assert len(rows) == 24 and all(row["state"] == "delivered" for row in rows)
    assert all(row["claimed_by"] is None and row["lease_until"] is None for row in rows), "claims released"
    assert sorted(received) == sorted(str(row["id"]) for row in rows)
    assert set(received.values()) == {1}, f"sent more than once: {[k for k, v in received.items() if v > 1]}"


async def test_a_send_slower_than_the_lease_keeps_its_claim_so_the_other_instance_does_not_send_it(engine) -> None:
    """Instance A's target answers after several leases; B keeps looking meanwhile and must not take it."""
    await handoffs(engine, 1)
    lease = timedelta(seconds=0.3)
    received: Counter = Counter()
    looks: List[Tuple[float, int]] = []  # (when, deliveries B sent)
    release = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        received[request.headers["X-Majlis-Delivery"]] += 1
        if sum(received.values()) == 1:  # A's request: answered after B's looks; a second one at once
            await release.wait()
        return web.Response(status=200)

    async with receiver(receive) as base:
        async with instances(engine, f"{base}/hook", lease) as (a, b):
            sending = asyncio.create_task(a.send_due())
            await wait_until(lambda: received, 20, "A's request at the target")
            started = time.monotonic()

            async def b_looks() -> None:
                while not looks or looks[-1][0] - started < 4 * lease.total_seconds():
                    looks.append((time.monotonic(), await b.send_due()))
                    await asyncio.sleep(lease.total_seconds() / 4)
            await asyncio.wait_for(b_looks(), 30)
            release.set()
            assert await sending == 1
            rows = await a.store.all()
    assert sum(received.values()) == 1, "the other instance sent the delivery A was still sending"
    assert [row["state"] for row in rows] == ["delivered"] and rows[0]["attempts"] == 1
    assert len(looks) >= 4 and not any(sent for _when, sent in looks)


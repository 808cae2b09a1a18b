"""/metrics on the Rasa server app (desk mounted): who may read it, and the handoff series.

The app is built by Rasa's ``configure_app`` with Majlis' fixes (tests/rasa_server_app.py),
as ``./majlis start`` builds it; handoffs go through the desk's real store and API.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import aiohttp
import pytest

from bot.agent_desk.accounts import AccountStore
from bot.storage import create_engine, migrate
from bot.agent_desk.channel import AgentDeskInput
from tests.bot.agent_desk.conftest import PASSWORDS, FakeTrackers, StubAgent, login
from tests.bot.metrics.scrape import changed, delta, scrape, value
from tests.e2e.handoff_harness import DESK, handoff_settings
from tests.rasa_server_app import served_rasa_app


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
    migrate(engine)
    accounts = AccountStore(engine)
    accounts.create_agent(email="noura@example.com", password=PASSWORDS["noura@example.com"], role="agent",
                          languages=["ar"], queues=["general"], display_name="Noura")
    accounts.shutdown()
    yield engine
    engine.dispose()


async def test_handoff_series_follow_the_desk(engine, monkeypatch) -> None:
    monkeypatch.delenv("MAJLIS_METRICS_TOKEN", raising=False)
    desk_channel = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    async with served_rasa_app([desk_channel], StubAgent()) as port:
        base = f"http://127.0.0.1:{port}"
        desk_channel.desk.service.trackers = FakeTrackers()
        before = await scrape(f"{base}/metrics")
        store = desk_channel.desk.service.store
        record, _ = await store.create(channel="whatsapp_cloud", account="1", customer="whatsapp_cloud:971500000001",
                                       queue="general", language="ar", priority=2, reason="customer_request",
                                       context={}, now=datetime.now(timezone.utc), event={})
        await desk_channel.desk.service.flush_events()
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            csrf = await login(session, f"{base}{DESK}", "noura@example.com")
            waiting = await scrape(f"{base}/metrics")
            async with session.post(f"{base}{DESK}/api/v1/handoffs/{record.public_id}/claim",
                                    headers={"X-CSRF-Token": csrf}) as answer:
                assert answer.status == 200
        after = await _until(lambda s: delta(before, s, "majlis_handoff_time_to_claim_seconds_count",
                                              queue="general") == 1, f"{base}/metrics")
    assert delta(before, after, "majlis_handoffs_created_total", reason="customer_request",
                 channel="whatsapp_cloud", language="ar") == 1
    assert value(waiting, "majlis_handoff_queue_length", queue="general") == 1
    assert value(after, "majlis_handoff_queue_length", queue="general") == 0
    assert set(key[0] for key in changed(before, after, "majlis_handoff")) >= {
        "majlis_handoffs_created_total", "majlis_handoff_time_to_claim_seconds_count"}


async def _until(predicate, url, attempts: int = 200):
    for _ in range(attempts):
        samples = await scrape(url)
        if predicate(samples):
            return samples
        await asyncio.sleep(0.05)
    raise AssertionError("metrics never reached the expected values")


async def test_token_guards_the_metrics(engine, monkeypatch) -> None:
    monkeypatch.setenv("MAJLIS_METRICS_TOKEN", "scrape-secret-1234")
    desk_channel = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    async with served_rasa_app([desk_channel], StubAgent()) as port:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics") as answer:
                assert answer.status == 403
            async with session.get(f"http://127.0.0.1:{port}/metrics",
                                   headers={"Authorization": "Bearer wrong"}) as answer:
                assert answer.status == 403
        samples = await scrape(f"http://127.0.0.1:{port}/metrics", token="scrape-secret-1234")
    assert any(key[0] == "python_info" for key in samples)


async def test_plain_dict_events_on_the_hub_are_ignored() -> None:
    """The desk's hub also carries dicts (delivery ticks, offers); the observer must skip them,
    not crash its follower (seen on a cluster run: every later handoff went uncounted)."""
    from bot.metrics.observers import HandoffMetrics

    class NoStore:
        async def get_by_id(self, _id):
            raise AssertionError("a dict event must not be looked up")

    metrics = HandoffMetrics(NoStore())
    await metrics.handle({"type": "handoff.delivery", "handoff_id": "h1", "state": "read"})
    await metrics.handle({"type": "handoff.offered", "handoff_id": "h1"})

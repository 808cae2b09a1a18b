"""Agent replies on the customer's WhatsApp: failed → retried, unsent → sent after a restart,
queue updates and the out-of-hours message (fake Graph API, no trained model needed)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor
from bot.storage import create_engine, migrate
from tests.bot.agent_desk.conftest import FakeTrackers, StubAgent
from tests.conftest import free_port
from tests.e2e.handoff_harness import handoff_settings, served_majlis, texts_to
from tests.fakes.fake_graph import FakeGraph, fake_graph  # noqa: F401  (fixture)

CUSTOMER = "971502220002"
SUPERVISOR = Actor(id=1, name="Sup", role="supervisor", languages=frozenset({"*"}), queues=frozenset({"*"}))


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'replies.sqlite'}")
    migrate(engine)
    from bot.agent_desk.accounts import AccountStore

    AccountStore(engine).create_agent(email="sup@example.com", password="sup-pass-12345", role="supervisor",
                                      languages=["ar", "en"])
    yield engine
    engine.dispose()


async def open_conversation(majlis, language: str = "ar"):
    """The customer writes (opens the 24-hour window), then is handed to a person."""
    await majlis.customer(CUSTOMER).say("مرحبا")
    await majlis.settle()
    desk = majlis.desk.desk
    desk.service.trackers = FakeTrackers()
    record, _ = await desk.service.store.create(
        channel="whatsapp_cloud", account="1122334455667", customer=CUSTOMER, queue="general", language=language,
        priority=2, reason="customer_request", context={}, now=datetime.now(timezone.utc), event={})
    return desk, record


async def wait_state(desk, record, message_id: int, state: str, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.1)):
        await desk.desk.poll_statuses()
        context = await desk.desk.context(await desk.service.store.get(record.public_id))
        turn = next(t for t in context.transcript if t.id == f"m{message_id}")
        if turn.status == state:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"reply {message_id} never became {state} (last: {turn.status})")


async def test_a_failed_reply_shows_as_failed_and_can_be_retried(engine, fake_graph: FakeGraph) -> None:  # noqa: F811
    async with served_majlis(StubAgent(), engine, fake_graph.url, free_port()) as majlis:
        desk, record = await open_conversation(majlis)
        await desk.desk.claim(SUPERVISOR, record.public_id)
        fake_graph.fail("131026")  # undeliverable: permanent
        reply = await desk.desk.reply(SUPERVISOR, record.public_id, "هلا، معك سارة", client_key="k1")
        await majlis.settle()
        await wait_state(desk, record, reply.id, "failed")
        retried = await desk.desk.retry(SUPERVISOR, record.public_id, reply.id)
        assert retried.send_attempt == 2
        await majlis.settle()
        await wait_state(desk, record, reply.id, "sent")
        assert texts_to(fake_graph, CUSTOMER).count("هلا، معك سارة") == 1
        again = await desk.desk.reply(SUPERVISOR, record.public_id, "هلا، معك سارة", client_key="k1")
        assert again.id == reply.id  # the same client key: stored and sent once


async def test_an_unsent_reply_is_sent_after_a_restart(engine, fake_graph: FakeGraph) -> None:  # noqa: F811
    port = free_port()
    async with served_majlis(StubAgent(), engine, fake_graph.url, port) as majlis:
        desk, record = await open_conversation(majlis)
        await desk.desk.claim(SUPERVISOR, record.public_id)
        record = await desk.service.store.get(record.public_id)
        # Stored, then the process died before handing it to the delivery layer.
        await desk.service.store.add_message(record, kind="agent", text="رد محفوظ قبل التوقف",
                                             now=datetime.now(timezone.utc), agent_id=SUPERVISOR.id, author="Sup")
    assert "رد محفوظ قبل التوقف" not in texts_to(fake_graph, CUSTOMER)
    async with served_majlis(StubAgent(), engine, fake_graph.url, port) as majlis:
        await majlis.settle()
        await fake_graph.wait_for(1)
        assert texts_to(fake_graph, CUSTOMER).count("رد محفوظ قبل التوقف") == 1
        assert (await majlis.desk.desk.service.store.get(record.public_id)).state == OwnerState.ASSIGNED


async def test_waiting_customers_get_updates(engine, fake_graph: FakeGraph) -> None:  # noqa: F811
    async with served_majlis(StubAgent(), engine, fake_graph.url, free_port(),
                             handoff=handoff_settings(MAJLIS_HANDOFF_UPDATE_SECONDS="60")) as majlis:
        desk, record = await open_conversation(majlis)
        service = desk.service
        assert await service.send_updates() == 0  # created just now
        service.clock = lambda: datetime.now(timezone.utc) + timedelta(minutes=2)
        assert await service.send_updates() == 1
        assert await service.send_updates() == 0  # not again before the interval
        await majlis.settle()
        assert any("ترتيبك الحين 1" in text for text in texts_to(fake_graph, CUSTOMER))
        assert service.trackers.appended, "the update was not recorded in the transcript"


async def test_out_of_hours_the_customer_hears_when_the_team_opens(engine) -> None:
    from bot.config import Config
    from bot.handoff.config import ROOT, parse_settings

    import yaml

    data = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    data["business_hours"] = {"timezone": "Asia/Dubai", "weekly": {"sun": ["08:00-22:00"]}}
    settings = parse_settings(data, Config({}))
    from bot.agent_desk.app import DeskApp

    app = DeskApp.create(settings=settings, engine=engine, agent=StubAgent)
    record, _ = await app.service.store.create(
        channel="whatsapp_cloud", account="1", customer="c", queue="general", language="en", priority=2,
        reason="customer_request", context={}, now=datetime.now(timezone.utc), event={})
    app.service.clock = lambda: datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday
    text = await app.service._ack_text(record, "en")
    assert "offline" in text and "on Sunday at 08:00" in text
    arabic = await app.service._ack_text(record, "ar")
    assert "غير متواجد" in arabic and "يوم الأحد الساعة 08:00" in arabic

"""Instagram in the agent desk, through real HTTP and the fake Graph API: agent replies
within 24 hours, tagged HUMAN_AGENT up to 7 days, refused (with the reason shown) later;
an inbox takeover opens a handoff, and closing it gives the conversation back to the bot."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

from bot.delivery import DeliveryStore
from bot.handoff.context import OwnerState
from bot.agent_desk.channel import AgentDeskInput
from channels.instagram.channel import TAKEOVER_REASON, InstagramInput
from tests.bot.agent_desk.conftest import FakeTrackers, StubAgent
from tests.channels.test_instagram_harness import (
    ACCOUNT, APP_SECRET, FAST_RETRY, WEBHOOK_PATH, Clock, message_event, settings, webhook_body,
)
from tests.bot.handoff.test_replies import SUPERVISOR, engine  # noqa: F401  (fixture)
from tests.conftest import free_port
from tests.e2e.handoff_harness import handoff_settings, serving
from tests.fakes.fake_instagram_graph import FakeInstagramGraph, fake_instagram_graph  # noqa: F401

CUSTOMER = "igsid-handoff-1"
class Running:
    def __init__(self, instagram: InstagramInput, desk: AgentDeskInput, base_url: str) -> None:
        self.instagram, self.desk, self.base_url = instagram, desk, base_url

    async def deliver(self, raw: bytes) -> None:
        import aiohttp

        from channels.meta.graph import SIGNATURE_HEADER, sign
        from bot.config import Secret

        async with aiohttp.ClientSession() as session:
            async with session.post(self.base_url + WEBHOOK_PATH, data=raw, headers={
                    "Content-Type": "application/json", SIGNATURE_HEADER: sign(raw, Secret(APP_SECRET))}) as answer:
                assert answer.status == 200, await answer.text()
        await self.settle()

    async def settle(self) -> None:
        await self.instagram.delivery.drain()
        await asyncio.sleep(0.1)
        await self.instagram.delivery.drain()

    async def turn(self, record, message_id: int):
        context = await self.desk.desk.desk.context(await self.desk.desk.service.store.get(record.public_id))
        return next(t for t in context.transcript if t.id == f"m{message_id}"), context


async def _serve(engine, graph: FakeInstagramGraph, clock: Clock):
    instagram = InstagramInput(settings(graph.url, INSTAGRAM_ACCOUNT_ID=ACCOUNT), store=DeliveryStore(engine),
                               retry=FAST_RETRY, clock=clock)
    desk = AgentDeskInput(handoff_settings(), engine=engine, cookie_secure=False)
    return instagram, desk


async def test_agent_replies_follow_the_instagram_windows(engine, fake_instagram_graph: FakeInstagramGraph) -> None:  # noqa: F811
    clock = Clock()
    instagram, desk = await _serve(engine, fake_instagram_graph, clock)
    async with serving([instagram, desk], StubAgent(), free_port()) as base_url:
        running = Running(instagram, desk, base_url)
        now_ms = int(time.time() * 1000)
        await running.deliver(webhook_body(message_event(CUSTOMER, "مرحبا", mid="m-cust-1", at_ms=now_ms)))
        service = desk.desk.service
        service.trackers = FakeTrackers()
        assert service.registry.supports("instagram")
        record, _ = await service.store.create(
            channel="instagram", account=ACCOUNT, customer=CUSTOMER, queue="general", language="ar", priority=2,
            reason="customer_request", context={}, now=datetime.now(timezone.utc), event={})
        ops = desk.desk.desk
        await ops.claim(SUPERVISOR, record.public_id)

        first = await ops.reply(SUPERVISOR, record.public_id, "هلا، معك سارة", client_key="r1")
        await running.settle()
        await ops.poll_statuses()
        turn, _ = await running.turn(record, first.id)
        assert turn.status == "sent"
        body = fake_instagram_graph.sent()[-1]
        assert body["recipient"] == {"id": CUSTOMER} and body["messaging_type"] == "RESPONSE" and "tag" not in body

        clock.now = datetime.now(timezone.utc) + timedelta(days=2)  # 24 h – 7 days: HUMAN_AGENT
        second = await ops.reply(SUPERVISOR, record.public_id, "Still checking your order", client_key="r2")
        await running.settle()
        turn, _ = await running.turn(record, second.id)
        assert turn.status == "sent"
        body = fake_instagram_graph.sent()[-1]
        assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
        assert body["message"]["text"] == "Still checking your order"

        clock.now = datetime.now(timezone.utc) + timedelta(days=8)  # past 7 days: nothing may be sent
        sent_before = len(fake_instagram_graph.sent())
        third = await ops.reply(SUPERVISOR, record.public_id, "Are you there?", client_key="r3")
        await running.settle()
        turn, context = await running.turn(record, third.id)
        assert turn.status == "failed"
        assert len(fake_instagram_graph.sent()) == sent_before
        notes = [t.text for t in context.transcript if t.role == "system"]
        assert any("more than 7 days" in text for text in notes), notes


async def test_an_inbox_takeover_opens_a_handoff_and_closing_it_releases_the_bot(
        engine, fake_instagram_graph: FakeInstagramGraph) -> None:  # noqa: F811
    instagram, desk = await _serve(engine, fake_instagram_graph, Clock())
    async with serving([instagram, desk], StubAgent(), free_port()) as base_url:
        running = Running(instagram, desk, base_url)
        service = desk.desk.service
        service.trackers = FakeTrackers()
        now_ms = int(time.time() * 1000)
        await running.deliver(webhook_body(message_event(CUSTOMER, "hello", mid="m-c1", at_ms=now_ms)))
        # A person answers from the Instagram app: an echo the bot did not send.
        await running.deliver(webhook_body(message_event(CUSTOMER, "Hi, Sara here", mid="m-human",
                                                         at_ms=now_ms + 1000, is_echo=True)))
        assert await instagram.takeovers.is_human("instagram", ACCOUNT, CUSTOMER)
        record = await service.open_for("instagram", CUSTOMER)
        assert record is not None and record.state == OwnerState.QUEUED and record.reason == TAKEOVER_REASON
        # A second echo does not open a second handoff.
        await running.deliver(webhook_body(message_event(CUSTOMER, "One moment", mid="m-human-2",
                                                         at_ms=now_ms + 2000, is_echo=True)))
        assert (await service.open_for("instagram", CUSTOMER)).public_id == record.public_id

        ops = desk.desk.desk
        await ops.claim(SUPERVISOR, record.public_id)
        await ops.close(SUPERVISOR, record.public_id, service.settings.resolutions[0])
        await running.settle()
        assert not await instagram.takeovers.is_human("instagram", ACCOUNT, CUSTOMER)
        assert (await service.store.get(record.public_id)).state == OwnerState.BOT

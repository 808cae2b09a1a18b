"""Hourly limits on handoff creation, through the real gate, model and channels.

Scripted anonymous web chat sessions cannot flood the queue (per-channel limit), and
one customer cannot open handoff after handoff (per-conversation limit): the customer
is told so in their language, nothing is queued, and the bot keeps answering.
"""
from __future__ import annotations

import dataclasses

import pytest

from bot.handoff.config import HandoffLimits
from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor
from bot.storage import create_engine, migrate
from tests.channels.test_webchat import Page
from tests.conftest import free_port
from tests.e2e.handoff_harness import handoff_settings, served_majlis, served_webchat, texts_to
from tests.fakes.fake_graph import fake_graph  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
SUPERVISOR = Actor(id=1, name="Sup", role="supervisor", languages=frozenset({"*"}), queues=frozenset({"*"}))
LIMITED_EN = "You've asked for a person several times in the last hour"
LIMITED_AR = "طلبت التحويل لموظف أكثر من مرة"


def limited(per_customer: int = 3, per_channel: int = 0):
    settings = handoff_settings()
    return dataclasses.replace(settings, limits=HandoffLimits(per_customer=per_customer,
                                                              per_channel={"webchat": per_channel}))


async def test_anonymous_web_chat_sessions_cannot_flood_the_queue(majlis_agent, tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'flood.sqlite'}")
    migrate(engine)
    async with served_webchat(majlis_agent, engine, free_port(), handoff=limited(per_channel=2)) as majlis:
        pages = [await Page(majlis.base_url).open() for _ in range(3)]
        for index, page in enumerate(pages):
            assert (await page.say("I need to speak to a human", f"h{index}"))["accepted"]
            await majlis.settle()
        store = majlis.desk.desk.service.store
        queued = await store.list(states=[OwnerState.QUEUED])
        assert sorted(r.customer for r in queued) == sorted(f"webchat:{p.session_id}" for p in pages[:2])
        last = [m.get("text") or "" for m in await pages[2].wait_for(1)]
        assert any(LIMITED_EN in text for text in last), last
        # Not handed off: the bot still answers the refused session.
        assert (await pages[2].say("where is my order?", "h9"))["accepted"]
        await majlis.settle()
        answered = [m.get("text") or "" for m in pages[2].received]
        assert len(answered) > len(last), answered
        for page in pages:
            await page.close()
    engine.dispose()


async def test_one_customer_cannot_open_handoff_after_handoff(majlis_agent, fake_graph, tmp_path) -> None:  # noqa: F811
    engine = create_engine(f"sqlite:///{tmp_path / 'repeat.sqlite'}")
    migrate(engine)
    customer = "971503330077"
    async with served_majlis(majlis_agent, engine, fake_graph.url, free_port(),
                             handoff=limited(per_customer=1)) as majlis:
        majlis.desk.desk.accounts.create_agent(email="sup@example.com", password="sup-pass-12345",
                                               role="supervisor", languages=["ar", "en"])
        say = majlis.customer(customer).say
        await say("أبي أكلم موظف")
        await majlis.settle()
        store = majlis.desk.desk.service.store
        record = await store.open_for("whatsapp_cloud", customer)
        assert record is not None and record.customer == f"whatsapp_cloud:{customer}"
        await majlis.desk.desk.desk.claim(SUPERVISOR, record.public_id)
        await majlis.desk.desk.desk.close(SUPERVISOR, record.public_id, "resolved")
        await majlis.settle()

        await say("أبي أكلم موظف مرة ثانية")
        await majlis.settle()
        assert await store.open_for("whatsapp_cloud", customer) is None
        assert any(LIMITED_AR in text for text in texts_to(fake_graph, customer)), texts_to(fake_graph, customer)
        assert await store.created_since("whatsapp_cloud", record.created_at, customer) == 1
        # The bot keeps the conversation: the customer's own bill, no verification step on WhatsApp.
        count = len(texts_to(fake_graph, customer))
        await say("كم فاتورتي؟")
        await majlis.settle()
        assert any("318" in text for text in texts_to(fake_graph, customer)[count:]), texts_to(fake_graph, customer)
    engine.dispose()

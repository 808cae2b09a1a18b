"""The handoff gate around the trained agent: hand off, stay silent, hand back (no browser).

Messages go through ``Agent.handle_message`` with Rasa's CollectingOutputChannel (the
REST channel's), so every bot reply is visible in the return value.
"""
from __future__ import annotations

import uuid
from typing import Any, List

import pytest
import regex
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.shared.core.events import ConversationResumed

from bot.agent_desk.app import DeskApp
from bot.handoff.context import OwnerState
from bot.handoff.desk import Actor
from bot.storage import create_engine, migrate
from tests.e2e.handoff_harness import handoff_settings
from tests.fakes.fake_graph import fake_graph  # noqa: F401  (fixture)

pytestmark = pytest.mark.e2e
ARABIC = regex.compile(r"\p{Arabic}")
MESSAGES = handoff_settings().messages


async def say(agent: Any, sender: str, text: str) -> List[str]:
    replies = await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest",
                                                     message_id=uuid.uuid4().hex))
    return [r.get("text") or "" for r in replies or []]


@pytest.fixture
async def desk_app(majlis_agent, tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'gate.sqlite'}")
    migrate(engine)
    app = DeskApp.create(settings=handoff_settings(), engine=engine, agent=lambda: majlis_agent)
    await app.start(majlis_agent, [])
    yield app
    await app.stop()
    engine.dispose()


async def test_hand_off_stay_silent_and_hand_back(majlis_agent, desk_app) -> None:
    sender = f"gate-{uuid.uuid4().hex[:8]}"
    store = desk_app.service.store
    ack = await say(majlis_agent, sender, "أبي أكلم موظف")
    assert len(ack) == 1 and "ترتيبك" in ack[0], ack
    record = await store.open_for("rest", sender)
    assert record.state == OwnerState.QUEUED and record.language == "ar" and record.reason == "customer_request"
    tracker = await majlis_agent.tracker_store.retrieve(sender)
    assert tracker.is_paused() and tracker.get_slot("requested_human") is True

    assert await say(majlis_agent, sender, "طلبي رقم 4821937 ما وصل") == []
    kinds = [e.type for e in await store.events_since(0) if e.payload.get("handoff_id") == record.public_id]
    assert kinds == ["handoff.created", "handoff.customer_message"]

    # Even if the tracker were resumed behind our back (a session restart, a bug), the
    # database says a person owns the conversation: the bot stays silent.
    tracker = await majlis_agent.tracker_store.retrieve(sender)
    tracker.update(ConversationResumed())
    await majlis_agent.tracker_store.save(tracker)
    assert await say(majlis_agent, sender, "hello?") == []

    agent = Actor(id=1, name="Noura", role="supervisor", languages=frozenset({"*"}), queues=frozenset({"*"}))
    desk_app.accounts.create_agent(email="noura@example.com", password="noura-pass-123", role="supervisor",
                                   languages=["ar"], queues=["*"])
    await desk_app.desk.claim(agent, record.public_id)
    context = await desk_app.desk.context(await store.get(record.public_id))
    customer_turns = [t for t in context.transcript if t.role == "customer"]
    assert [t.text for t in customer_turns][-2:] == ["طلبي رقم 4821937 ما وصل", "hello?"]
    assert customer_turns[0].intent.name == "talk_to_human"
    # Claimed (assigned): the person answers now, the bot still says nothing, even with the
    # tracker resumed behind our back again.
    assert (await store.get(record.public_id)).state == OwnerState.ASSIGNED
    tracker = await majlis_agent.tracker_store.retrieve(sender)
    tracker.update(ConversationResumed())
    await majlis_agent.tracker_store.save(tracker)
    assert await say(majlis_agent, sender, "are you there?") == []
    await desk_app.desk.close(agent, record.public_id, "resolved")
    assert (await store.get(record.public_id)).state == OwnerState.BOT
    tracker = await majlis_agent.tracker_store.retrieve(sender)
    assert not tracker.is_paused() and tracker.get_slot("requested_human") is False

    answer = await say(majlis_agent, sender, "كم فاتورتي؟")
    assert answer and ARABIC.search(answer[0]), answer


async def test_english_customer_hears_english(majlis_agent, desk_app) -> None:
    sender = f"gate-{uuid.uuid4().hex[:8]}"
    ack = await say(majlis_agent, sender, "I want to talk to a human agent please")
    assert len(ack) == 1 and "in the queue" in ack[0], ack


async def test_rating_after_hand_back_on_whatsapp(majlis_agent, fake_graph, tmp_path) -> None:  # noqa: F811
    from tests.conftest import free_port
    from tests.e2e.handoff_harness import served_majlis, texts_to

    engine = create_engine(f"sqlite:///{tmp_path / 'rating.sqlite'}")
    migrate(engine)
    customer = "971503330003"
    agent = Actor(id=1, name="Sup", role="supervisor", languages=frozenset({"*"}), queues=frozenset({"*"}))
    async with served_majlis(majlis_agent, engine, fake_graph.url, free_port()) as majlis:
        majlis.desk.desk.accounts.create_agent(email="sup@example.com", password="sup-pass-12345",
                                               role="supervisor", languages=["ar", "en"])
        say_ = majlis.customer(customer).say
        await say_("I need to speak to a human")
        await majlis.settle()
        store = majlis.desk.desk.service.store
        record = await store.open_for("whatsapp_cloud", customer)
        assert record is not None and record.language == "en"
        await majlis.desk.desk.desk.claim(agent, record.public_id)
        await majlis.desk.desk.desk.close(agent, record.public_id, "resolved")
        await majlis.settle()
        sent = texts_to(fake_graph, customer)
        assert sent.count(MESSAGES["handback"].get("en")) == 1, sent
        assert sent.count(MESSAGES["rating_request"].get("en")) == 1, sent
        await say_("5")
        await majlis.settle()
        assert texts_to(fake_graph, customer)[-1] == "Thanks for your rating!"
        assert texts_to(fake_graph, customer).count("Thanks for your rating!") == 1
        assert (await store.get(record.public_id)).rating == 5
        count = len(texts_to(fake_graph, customer))
        await say_("hello")
        await majlis.settle()
        assert len(texts_to(fake_graph, customer)) > count, "the bot did not answer after the rating"
    engine.dispose()


async def test_a_hand_back_interrupted_by_a_restart_is_finished_at_start_up_once(
    majlis_agent, fake_graph, tmp_path
) -> None:  # noqa: F811
    """The agent closed the conversation and the server died before handing it back.

    At the next start the desk finishes the hand-back: the customer gets the hand-back
    message (already sent before the crash) and the rating request exactly once, the tracker is resumed with each of
    them recorded once, and a further restart sends nothing again.
    """
    from datetime import datetime, timezone

    from rasa.shared.core.events import BotUttered

    from bot.handoff.tracker import HANDOFF_METADATA_KEY
    from tests.conftest import free_port
    from tests.e2e.handoff_harness import served_majlis, texts_to

    engine = create_engine(f"sqlite:///{tmp_path / 'restart.sqlite'}")
    migrate(engine)
    customer, port = "971503330004", free_port()
    handback, rating = MESSAGES["handback"].get("en"), MESSAGES["rating_request"].get("en")
    async with served_majlis(majlis_agent, engine, fake_graph.url, port) as majlis:
        await majlis.customer(customer).say("I need to speak to a human")
        await majlis.settle()
        store = majlis.desk.desk.service.store
        record = await store.open_for("whatsapp_cloud", customer)
        assert record is not None and record.language == "en"
        # Closed in the database; the process stops during complete_handback: the hand-back
        # message went out (keyed by the handoff id), the rating request and the rest did not.
        await store.close(record.public_id, None, "resolved", datetime.now(timezone.utc))
        service = majlis.desk.desk.service
        assert await service.registry.send_text(record.channel, account=record.account, customer=record.customer,
                                                text=handback, key=f"handoff:{record.public_id}:handback")
        await majlis.settle()
    assert texts_to(fake_graph, customer).count(handback) == 1
    assert rating not in texts_to(fake_graph, customer)
    tracker = await majlis_agent.tracker_store.retrieve(f"whatsapp_cloud:{customer}")
    assert tracker.is_paused()

    for _restart in range(2):  # the first start finishes it; the second finds nothing to do
        async with served_majlis(majlis_agent, engine, fake_graph.url, port) as majlis:
            await majlis.settle()
            store = majlis.desk.desk.service.store
            returned = await store.get(record.public_id)
            assert returned.state == OwnerState.BOT and returned.rating_state == "requested"
        sent = texts_to(fake_graph, customer)
        assert sent.count(handback) == 1 and sent.count(rating) == 1, sent
        assert sent[-2:] == [handback, rating]
    tracker = await majlis_agent.tracker_store.retrieve(f"whatsapp_cloud:{customer}")
    assert not tracker.is_paused() and tracker.get_slot("requested_human") is False
    kinds = [e.metadata[HANDOFF_METADATA_KEY]["kind"] for e in tracker.events
             if isinstance(e, BotUttered) and HANDOFF_METADATA_KEY in (e.metadata or {})]
    assert kinds.count("handback") == 1 and kinds.count("rating_request") == 1, kinds
    engine.dispose()


async def test_an_urgent_complaint_goes_to_a_person_with_high_priority(majlis_agent, desk_app) -> None:
    sender = f"gate-{uuid.uuid4().hex[:8]}"
    replies = await say(majlis_agent, sender, "الانترنت مقطوع عندي من أمس!!! ضروري تصلحونه")
    record = await desk_app.service.store.open_for("rest", sender)
    assert record is not None, replies
    assert record.reason == "distress" and record.priority >= 3
    assert "exclamations" in record.context["signals"] and "urgency" in record.context["signals"]


async def test_the_dialogue_can_hand_off_itself(majlis_agent, tmp_path) -> None:
    """Without handoff.yml's talk_to_human rule, action_request_human answers and the gate hands off."""
    import dataclasses

    settings = handoff_settings()
    settings = dataclasses.replace(settings, rules=tuple(r for r in settings.rules if r.intent != "talk_to_human"))
    engine = create_engine(f"sqlite:///{tmp_path / 'dialogue.sqlite'}")
    migrate(engine)
    app = DeskApp.create(settings=settings, engine=engine, agent=lambda: majlis_agent)
    await app.start(majlis_agent, [])
    try:
        sender = f"gate-{uuid.uuid4().hex[:8]}"
        replies = await say(majlis_agent, sender, "I want to talk to a human agent please")
        record = await app.service.store.open_for("rest", sender)
        assert record is not None and record.reason == "customer_request"
        assert len(replies) == 2 and replies[1].startswith("You're number 1 in the queue"), replies
        assert await say(majlis_agent, sender, "hello?") == []
    finally:
        await app.stop()
        engine.dispose()


async def test_a_customer_writing_after_an_unfinished_hand_back_gets_it_then_an_answer(
    majlis_agent, fake_graph, tmp_path
) -> None:  # noqa: F811
    """Closed in the database, hand-back not done (the closing instance died), the customer writes.

    The gate, not only the next start-up, finishes the hand-back: the customer gets the
    hand-back message and the rating request once, then the bot answers this very message in
    Arabic (a paused tracker would answer nothing), and the handoff ends in ``bot``.
    """
    from datetime import datetime, timezone

    from tests.conftest import free_port
    from tests.e2e.handoff_harness import served_majlis, texts_to

    engine = create_engine(f"sqlite:///{tmp_path / 'unfinished.sqlite'}")
    migrate(engine)
    customer = "971503330005"
    handback, rating = MESSAGES["handback"].get("ar"), MESSAGES["rating_request"].get("ar")
    async with served_majlis(majlis_agent, engine, fake_graph.url, free_port()) as majlis:
        say_ = majlis.customer(customer).say
        await say_("أبي أكلم موظف")
        await majlis.settle()
        store = majlis.desk.desk.service.store
        record = await store.open_for("whatsapp_cloud", customer)
        assert record is not None and record.language == "ar"
        await store.close(record.public_id, None, "resolved", datetime.now(timezone.utc))
        before = len(texts_to(fake_graph, customer))

        await say_("كم فاتورتي؟")
        await majlis.settle()
        sent = texts_to(fake_graph, customer)[before:]
        assert sent[:2] == [handback, rating], sent
        assert len(sent) >= 3 and ARABIC.search(sent[2]) and sent[2] not in (handback, rating), sent
        assert (await store.get(record.public_id)).state == OwnerState.BOT
    tracker = await majlis_agent.tracker_store.retrieve(f"whatsapp_cloud:{customer}")
    assert not tracker.is_paused()
    engine.dispose()

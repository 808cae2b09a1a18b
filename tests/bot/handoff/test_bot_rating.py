"""The rating the bot asks for when a conversation it settled alone ends (trained model, no browser).

Messages go through ``Agent.handle_message`` behind the handoff gate with Rasa's
CollectingOutputChannel, so every reply (text and buttons) is visible; the rating record is
read back from the stored tracker, as the report builder reads it.
"""
from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.handoff.desk import Actor
from bot.rating import rating_of
from tests.bot.handoff.test_gate import desk_app  # noqa: F401  (fixture)
from tests.e2e.handoff_harness import handoff_settings

pytestmark = pytest.mark.e2e
MESSAGES = handoff_settings().messages
ASK = {lang: MESSAGES["rating_request"].get(lang) for lang in ("ar", "en")}
THANKS = {lang: MESSAGES["rating_thanks"].get(lang) for lang in ("ar", "en")}


async def say(agent: Any, sender: str, text: str) -> List[Dict[str, Any]]:
    return await agent.handle_message(UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest",
                                                  message_id=uuid.uuid4().hex)) or []


def texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [r.get("text") or "" for r in replies]


async def ratings(agent: Any, sender: str) -> List[tuple]:
    tracker = await agent.tracker_store.retrieve_full_tracker(sender)
    return [found for found in (rating_of(e.as_dict()) for e in tracker.events) if found is not None]


@pytest.mark.parametrize("lang, question, thanks, answer, rating", [
    ("en", "how do I get an esim?", "thank you so much", "4", 4),
    ("ar", "ابي شريحة esim", "شكرا جزيلا", "٥", 5),
])
async def test_the_bot_asks_once_after_an_answer_and_keeps_the_rating(
        majlis_agent, desk_app, lang, question, thanks, answer, rating) -> None:  # noqa: F811
    sender = f"rate-{lang}-{uuid.uuid4().hex[:8]}"
    served = texts(await say(majlis_agent, sender, question))
    assert served and ASK[lang] not in served, "the bot should answer the question, not ask for a rating"

    closing = await say(majlis_agent, sender, thanks)
    asked = [r for r in closing if r.get("text") == ASK[lang]]
    assert len(asked) == 1, texts(closing)
    assert [b["payload"] for b in asked[0]["buttons"]] == ["5", "4", "3", "2", "1"]
    assert closing[-1]["text"] == ASK[lang], "the question comes after the bot's own answer"

    assert texts(await say(majlis_agent, sender, answer)) == [THANKS[lang]]
    assert await ratings(majlis_agent, sender) == [(rating, "bot-only")]

    # never twice in a session: a second thank-you is just answered
    again = texts(await say(majlis_agent, sender, thanks))
    assert again and ASK[lang] not in again
    assert await ratings(majlis_agent, sender) == [(rating, "bot-only")]


async def test_no_question_without_a_served_answer_and_none_after_a_non_answer(majlis_agent, desk_app) -> None:  # noqa: F811
    small_talk = f"rate-none-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, small_talk, "hello")
    assert ASK["en"] not in texts(await say(majlis_agent, small_talk, "thanks"))

    other = f"rate-skip-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, other, "how do I get an esim?")
    assert ASK["en"] in texts(await say(majlis_agent, other, "thanks"))
    # not a rating: the bot answers it as any message, and does not ask again
    replies = texts(await say(majlis_agent, other, "where is my order?"))
    assert replies and THANKS["en"] not in replies and ASK["en"] not in replies
    assert await ratings(majlis_agent, other) == []
    assert ASK["en"] not in texts(await say(majlis_agent, other, "thanks, bye"))


async def test_no_bot_question_after_a_handoff(majlis_agent, desk_app) -> None:  # noqa: F811
    """A hand-back asks on its own; the bot never adds a second question in that conversation."""
    sender = f"rate-handoff-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, sender, "how do I get an esim?")
    await say(majlis_agent, sender, "I want to talk to a human agent please")
    record = await desk_app.service.store.open_for("rest", sender)
    assert record is not None
    desk_app.accounts.create_agent(email=f"{sender}@example.com", password="agent-pass-123", role="supervisor",
                                   languages=["en"], queues=["*"])
    agent = Actor(id=1, name="Noura", role="supervisor", languages=frozenset({"*"}), queues=frozenset({"*"}))
    await desk_app.desk.claim(agent, record.public_id)
    await desk_app.desk.close(agent, record.public_id, "resolved")
    replies = texts(await say(majlis_agent, sender, "thank you so much"))  # not a rating: the agent's is skipped
    assert replies and ASK["en"] not in replies
    assert await ratings(majlis_agent, sender) == []


async def test_never_twice_in_a_long_session(majlis_agent, desk_app) -> None:  # noqa: F811
    """The windowed tracker store shows Rasa the last 8 turns: the first question is further back."""
    sender = f"rate-long-{uuid.uuid4().hex[:8]}"
    await say(majlis_agent, sender, "how do I get an esim?")
    assert ASK["en"] in texts(await say(majlis_agent, sender, "thanks"))
    for turn in range(9):  # small talk (the same question three times would be handed to a person)
        await say(majlis_agent, sender, ["hello", "how are you?", "what's your name?"][turn % 3])
    served = texts(await say(majlis_agent, sender, "how do I get an esim?"))
    assert served and ASK["en"] not in served
    tracker = await majlis_agent.tracker_store.retrieve(sender)
    assert not any(e.type_name == "session_started" for e in tracker.events), "the session should be windowed"
    assert not any((e.metadata or {}).get("majlis_rating") for e in tracker.events if e.type_name == "bot")
    assert ASK["en"] not in texts(await say(majlis_agent, sender, "thanks"))

"""The rating record on a tracker event becomes one schema event and one metric, whoever asked."""
from __future__ import annotations

from prometheus_client import REGISTRY

from bot.events.schema import Pseudonym, from_tracker
from bot.metrics.observers import observe_tracker_event
from bot.rating import AGENT, BOT_ONLY, request_utterance, thanks_utterance

SENDER = "whatsapp_cloud:971500000031"


def event(bot_uttered) -> dict:
    return {**bot_uttered.as_dict(), "sender_id": SENDER}


def ratings(handled_by: str, rating: str) -> float:
    return REGISTRY.get_sample_value("majlis_ratings_total", {"handled_by": handled_by, "rating": rating}) or 0.0


def test_a_bot_only_rating_is_published_once_as_rating_received() -> None:
    pseudonym = Pseudonym(b"k" * 32)
    [published] = from_tracker(event(thanks_utterance("شكراً على تقييمك!", 4, BOT_ONLY)), pseudonym, False)
    assert published["type"] == "rating.received" and published["channel"] == "whatsapp_cloud"
    assert published["data"] == {"rating": 4, "handled_by": "bot-only"}
    assert published["conversation"] == pseudonym(SENDER)
    # an agent's rating is published from the desk (handoff.rated): its thanks turn is a plain message
    assert [e["type"] for e in from_tracker(event(thanks_utterance("Thanks!", 5, AGENT)), pseudonym, False)] == [
        "message.sent"]
    assert [e["type"] for e in from_tracker(event(request_utterance("Rate 1-5?", BOT_ONLY)), pseudonym, False)] == [
        "message.sent"]


def test_ratings_are_counted_by_who_handled_the_conversation() -> None:
    before = {key: ratings(*key) for key in (("bot-only", "4"), ("agent", "5"))}
    observe_tracker_event(event(thanks_utterance("…", 4, BOT_ONLY)))
    observe_tracker_event(event(thanks_utterance("…", 5, AGENT)))
    observe_tracker_event(event(request_utterance("…", BOT_ONLY)))  # a question is not a rating
    assert ratings("bot-only", "4") == before[("bot-only", "4")] + 1
    assert ratings("agent", "5") == before[("agent", "5")] + 1

"""Collecting customer messages from the tracker store: reasons, groups, masking, increments."""
from __future__ import annotations

import time

from bot.workbench import inbox
from bot.workbench.collect import Collector
from tests.bot.workbench.conftest import ARABIZI, ARABIZI_AGAIN, GULF, GULF_AGAIN, UNDERSTOOD
from tests.bot.storage.backends import pg_url  # noqa: F401 - fixture (the PostgreSQL database)
from tests.bot.workbench.trackers import action, pause, user, write


def indexed(engine, trackers):
    return engine, Collector(engine, lambda: trackers)


def test_misunderstood_messages_are_grouped_across_scripts_with_their_reasons(majlis_db, trackers) -> None:
    engine, collector = indexed(majlis_db, trackers)
    assert collector.collect() == 8
    page = inbox.groups(engine, inbox.Filters())
    texts = [g["text"] for g in page["groups"]]
    assert UNDERSTOOD not in texts, "an understood message is not in the inbox"
    bundle = page["groups"][0]
    assert bundle["count"] == 4, page  # Gulf + its spelling variant + Arabizi + its spelling variant
    # One row per wording as the NLU sees it: the two Gulf spellings normalise alike.
    members = {m["text"]: m["count"] for m in inbox.members(engine, bundle["group"])}
    assert set(members) in ({GULF, ARABIZI, ARABIZI_AGAIN}, {GULF_AGAIN, ARABIZI, ARABIZI_AGAIN})
    assert sum(members.values()) == 4
    assert {"fallback", "rephrased", "handoff", "not_helpful", "low_confidence"} <= set(bundle["reasons"])
    english = next(g for g in page["groups"] if g["language"] == "en")
    assert english["reasons"] == ["ambiguous", "low_confidence"]
    assert "sara@example.com" not in english["text"] and "•••" in english["text"]
    assert "customer@example.com" in english["training_text"]


def test_personal_data_is_masked_in_the_inbox_and_the_conversation(majlis_db, trackers) -> None:
    engine, collector = indexed(majlis_db, trackers)
    collector.collect()
    rephrasing = next(g for g in inbox.groups(engine, inbox.Filters())["groups"] if "باقتي" in g["text"])
    assert "0501234567" not in rephrasing["text"] and "مريم" not in rephrasing["text"]
    assert "0500000000" in rephrasing["training_text"] and "سارة" in rephrasing["training_text"]
    first = inbox.groups(engine, inbox.Filters(form="arabic", channel="whatsapp_cloud"))["groups"]
    turns = inbox.conversation(engine, trackers, min(g["id"] for g in first))
    assert [t["who"] for t in turns] == ["customer", "bot", "customer"]
    assert all("0501234567" not in t["text"] for t in turns)


def test_filters(majlis_db, trackers) -> None:
    engine, collector = indexed(majlis_db, trackers)
    collector.collect()
    assert {g["form"] for g in inbox.groups(engine, inbox.Filters(form="english"))["groups"]} == {"english"}
    assert inbox.groups(engine, inbox.Filters(channel="instagram"))["groups"][0]["count"] == 1
    handed_off = inbox.groups(engine, inbox.Filters(reason="handoff"))["groups"]
    assert [g["text"] for g in handed_off] == [GULF_AGAIN]
    assert inbox.groups(engine, inbox.Filters(intent="dispute_charge"))["total"] == 1
    future = inbox.Filters.parse({"since": "2999-01-01"})
    assert inbox.groups(engine, future)["total"] == 0


def test_collection_is_incremental_and_later_events_add_reasons(majlis_db, trackers) -> None:
    engine, collector = indexed(majlis_db, trackers)
    collector.collect()
    assert collector.collect() == 0
    now = time.time()
    write(trackers, [user("whatsapp_cloud:971500000009", "وش صار على الشريحة", now, [("sim_or_esim", 0.95)])])
    assert collector.collect() == 1
    assert inbox.groups(engine, inbox.Filters(reason="handoff"))["total"] == 1
    # The bot fell back and the conversation went to a person: both reach the stored message.
    write(trackers, [action("whatsapp_cloud:971500000009", "action_default_fallback", now + 1),
                     pause("whatsapp_cloud:971500000009", now + 2)])
    assert collector.collect() == 0
    handed_off = inbox.groups(engine, inbox.Filters(reason="handoff"))["groups"]
    assert "وش صار على الشريحة" in [g["text"] for g in handed_off]
    # A second collector (another process) continues from the stored cursor.
    assert Collector(engine, lambda: trackers).collect() == 0

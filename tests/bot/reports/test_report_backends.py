"""Report tables and figures on SQLite and PostgreSQL, from stored rows with known times.

Tracker events are written in Rasa's ``events`` table as the SQL tracker store writes
them (``Event.as_dict()`` in ``data``); handoffs go through the real HandoffStore with
chosen clocks; a window-closed reply is an outbox row in state ``skipped``.  Reports
are folded incrementally: a second refresh changes nothing, a later rating arrives.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered

from bot.agent_desk.accounts import AccountStore
from bot.handoff.store import HandoffStore
from bot.rating import BOT_ONLY, request_utterance, thanks_utterance
from bot.reports.builder import ReportBuilder
from bot.reports.figures import ReportQuery, report
from bot.storage import create_engine, migrate
from bot.storage.schema import outbox
from tests.bot.storage.backends import create_pg_database, drop_pg_database

ZONE = "Asia/Dubai"  # UTC+4, no daylight saving: 21:30 UTC is 01:30 the next day
T0 = datetime(2026, 11, 2, 21, 30, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[sa.engine.Engine]:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}" if request.param == "sqlite" else create_pg_database()
    engine = create_engine(url)
    migrate(engine)
    SQLTrackerStore.Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        if request.param == "postgresql":
            drop_pg_database(url)


def store_events(engine, sender: str, events) -> None:
    rows = [{"sender_id": sender, "type_name": e.type_name, "timestamp": e.timestamp,
             "intent_name": (e.parse_data or {}).get("intent", {}).get("name") if isinstance(e, UserUttered) else None,
             "action_name": None, "data": json.dumps(e.as_dict())} for e in events]
    with engine.begin() as conn:
        conn.execute(SQLTrackerStore.SQLEvent.__table__.insert(), rows)


def user(text: str, at: datetime, intent: str, language: str, form: str, channel: str, **extra) -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": [],
             "language": {"code": language, "form": form, **extra}}
    return UserUttered(text, parse_data=parse, timestamp=at.timestamp(), input_channel=channel)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def history(engine) -> HandoffStore:
    ar, en = "whatsapp_cloud:971500000011", "twilio_whatsapp:+971500000012"
    store_events(engine, ar, [SessionStarted(timestamp=at(0).timestamp()),
                              user("أبي أكلم موظف", at(1), "talk_to_human", "ar", "arabic", "whatsapp_cloud",
                                   dialect={"region": "gulf"}),
                              BotUttered("لحظة", timestamp=at(2).timestamp())])
    store_events(engine, en, [SessionStarted(timestamp=at(10).timestamp()),
                              user("my bill", at(11), "check_bill", "en", "english", "twilio_whatsapp"),
                              BotUttered("Your bill is 120 AED", timestamp=at(12).timestamp()),
                              # a new Rasa session the next evening: a second conversation
                              SessionStarted(timestamp=at(86400).timestamp()),
                              user("thanks", at(86401), "thank", "en", "english", "twilio_whatsapp")])
    accounts = AccountStore(engine)
    agent_id = accounts.create_agent(email="noura@example.com", password="noura-pass-123", role="agent",
                                     languages=["ar"], queues=["*"], display_name="Noura").id
    accounts.shutdown()
    store = HandoffStore(engine)
    record, _ = await store.create(channel="whatsapp_cloud", account="1", customer=ar, queue="general", language="ar",
                                   priority=2, reason="customer_request", context={}, now=at(3), event={})
    await store.claim(record.public_id, agent_id, at(33))
    await store.add_message(record, kind="agent", text="هلا", now=at(43), agent_id=agent_id)
    await store.close(record.public_id, agent_id, "resolved", at(103))
    with engine.begin() as conn:
        conn.execute(outbox.insert().values(
            channel="whatsapp_cloud", idempotency_key="k1", account="1", customer="971500000011", kind="text",
            free_form=True, payload="{}", state="skipped", attempts=0, created_at=at(200).replace(tzinfo=None),
            updated_at=at(200).replace(tzinfo=None)))
    return store


def figures(engine, **filters) -> dict:
    with engine.connect() as conn:
        return report(conn, ReportQuery(date(2026, 11, 1), date(2026, 11, 30), filters))


async def test_figures_from_stored_events(engine) -> None:
    store = await history(engine)
    builder = ReportBuilder(engine, engine, zone=ZONE, settle=timedelta(0))
    done = builder.refresh()
    assert done.caught_up and done.tracker_events == 8  # session starts, customer and bot messages
    data = figures(engine)
    assert data["summary"] == {"conversations": 3, "bot_only": 2, "containment": 0.6667, "handed_off": 1,
                               "handoff_rate": 0.3333, "lost_window": 1, "messages_in": 3,
                               "csat": {"bot_only": {"average": None, "count": 0},
                                        "agent": {"average": None, "count": 0}}}
    assert data["times"] == {"wait": {"p50": 30.0, "p90": 30.0, "count": 1},
                             "first_response": {"p50": 40.0, "p90": 40.0, "count": 1},
                             "handling": {"p50": 70.0, "p90": 70.0, "count": 1}}
    assert data["reasons"] == [{"key": "customer_request", "handoffs": 1}]
    assert {g["key"]: (g["conversations"], g["handoffs"]) for g in data["handoff_by"]["language"]} == {
        "ar": (1, 1), "en": (2, 0)}
    assert {g["key"]: g["conversations"] for g in data["handoff_by"]["dialect"]} == {"gulf": 1, "none": 2}
    assert {g["key"]: g["conversations"] for g in data["handoff_by"]["channel"]} == {
        "twilio_whatsapp": 2, "whatsapp_cloud": 1}
    # local time (UTC+4): the first two started at 01:30 on 3 November, the third a day later
    assert [h["conversations"] for h in data["hours"] if h["conversations"]] == [3]
    assert data["hours"][1]["conversations"] == 3
    assert data["days"] == [{"day": "2026-11-03", "conversations": 2, "handoffs": 1},
                            {"day": "2026-11-04", "conversations": 1, "handoffs": 0}]
    assert figures(engine, language="en")["summary"]["conversations"] == 2
    assert figures(engine, language="en")["times"]["wait"]["count"] == 0

    # folding again changes nothing; a rating that arrives later reaches the conversation
    builder.refresh()
    assert figures(engine) == data
    record = (await store.history("whatsapp_cloud", "whatsapp_cloud:971500000011"))[0]
    await store.update(record.public_id, rating=5, rating_state="received")
    await store.add_event(record, "handoff.rated", {"rating": 5}, at(300))
    builder.refresh()
    assert figures(engine)["summary"]["csat"]["agent"] == {"average": 5.0, "count": 1}
    # the bot asked the second-day conversation (bot-only) for a rating; the customer gave 4
    en = "twilio_whatsapp:+971500000012"
    store_events(engine, en, [request_utterance("How would you rate…", BOT_ONLY),
                              user("4", at(86410), "inform", "en", "english", "twilio_whatsapp"),
                              thanks_utterance("Thanks for your rating!", 4, BOT_ONLY)])
    builder.refresh()
    assert figures(engine)["summary"]["csat"] == {"bot_only": {"average": 4.0, "count": 1},
                                                  "agent": {"average": 5.0, "count": 1}}
    assert figures(engine, language="ar")["summary"]["csat"]["bot_only"] == {"average": None, "count": 0}
    store.shutdown()


async def test_a_handoff_waits_for_its_conversation(engine) -> None:
    """The handoff row can be folded before its turn's tracker events: it is linked later."""
    store = HandoffStore(engine)
    sender = "whatsapp_cloud:971500000021"
    await store.create(channel="whatsapp_cloud", account="1", customer=sender, queue="general", language="ar",
                       priority=2, reason="frustration", context={}, now=at(5), event={})
    builder = ReportBuilder(engine, engine, zone=ZONE, settle=timedelta(0))
    builder.refresh()
    assert figures(engine)["summary"]["conversations"] == 0
    store_events(engine, sender, [SessionStarted(timestamp=at(0).timestamp()),
                                  user("زهقت", at(1), "complain", "ar", "arabic", "whatsapp_cloud")])
    builder.refresh()
    assert figures(engine)["summary"]["handed_off"] == 1
    assert figures(engine)["reasons"] == [{"key": "frustration", "handoffs": 1}]
    store.shutdown()

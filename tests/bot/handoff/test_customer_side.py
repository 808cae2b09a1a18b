"""Summary, business hours, ratings, settings validation and the context packet builder."""
from __future__ import annotations

from datetime import datetime, timezone

import re
from pathlib import Path

import pytest
import yaml

from bot.config import ConfigError
from bot.handoff.context import OwnerState
from bot.handoff.hours import BusinessHours
from bot.handoff.packet import PacketInputs, build_context, entry_source
from bot.handoff.records import HandoffRecord, MessageRecord
from bot.handoff.service import parse_rating
from bot.handoff.summary import summarise
from bot.handoff.config import parse_settings
from tests.bot.agent_desk.conftest import user_event
from tests.e2e.handoff_harness import handoff_settings

SETTINGS = handoff_settings()
ROOT = Path(__file__).resolve().parents[3]
IDENTIFIER = re.compile(r"[a-z]+_[a-z_]+")
ORDER = [{"entity": "order_number", "value": "4821937", "start": 9, "end": 16}]


def test_summary_is_bilingual_and_template_based() -> None:
    events = [user_event("وين طلبي 4821937", entities=ORDER), {"event": "bot", "text": "..."},
              user_event("أبي أكلم موظف", intent="talk_to_human")]
    summary = summarise(events, {"order_number": "4821937"}, "customer_request", SETTINGS)
    assert summary.wants == "order_status" and summary.facts == {"order_number": "4821937"}
    plain = {lang: text.replace("\u2068", "").replace("\u2069", "") for lang, text in
             (("en", summary.en), ("ar", summary.ar))}
    assert plain["en"].startswith("Wants: order status. Handed over because: asked for a person.")
    assert "يريد: حالة الطلب" in plain["ar"] and "رقم الطلب 4821937" in plain["ar"]
    assert summary.wants_label == {"en": "order status", "ar": "حالة الطلب"}


def test_summary_names_forms_and_actions_in_words_never_identifiers() -> None:
    # The Arabic summary used to read "نموذج order_status_form؛ إجراء action_order_status".
    events = [user_event("وين طلبي؟", intent="order_status"), {"event": "action", "name": "order_status_form"},
              {"event": "active_loop", "name": "order_status_form"},
              {"event": "action", "name": "action_ask_order_number"},
              {"event": "action", "name": "action_order_status"}, {"event": "bot", "text": "..."},
              user_event("أبي أكلم موظف", intent="talk_to_human")]
    summary = summarise(events, {}, "customer_request", SETTINGS)
    for text in (summary.ar, summary.en, *summary.tried):
        assert not IDENTIFIER.search(text), text
    assert "أسئلة حالة الطلب" in summary.ar and "استعلم عن الطلب" in summary.ar
    assert "order status questions" in summary.en and "looked up the order" in summary.en


def test_mixed_script_values_are_bidi_isolates() -> None:
    # An order number with Latin letters and digits inside an Arabic line, and an Arabic complaint
    # inside an English line, each keep their own reading order (FSI ... PDI).
    events = [user_event("الطلب ORD-4821937 ما وصل", intent="order_status")]
    summary = summarise(events, {"order_number": "ORD-4821937", "complaint_details": "ما وصلني الطلب"},
                        "customer_request", SETTINGS)
    assert "رقم الطلب \u2068ORD-4821937\u2069" in summary.ar
    assert "complaint \u2068ما وصلني الطلب\u2069" in summary.en
    assert "يريد: \u2068حالة الطلب\u2069" in summary.ar


def test_every_intent_form_and_action_of_the_domain_has_both_labels() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]]
    actions = [a for a in domain["actions"] if a.startswith("action_") and not a.startswith("action_ask_")]
    missing = [("intent", name) for name in intents if name not in SETTINGS.intent_labels]
    missing += [("form", name) for name in domain.get("forms") or {} if name not in SETTINGS.form_labels]
    missing += [("action", name) for name in actions if name not in SETTINGS.action_labels]
    assert not missing, f"label these in handoff.yml so agents never read identifiers: {missing}"


def test_business_hours_and_next_opening() -> None:
    hours = BusinessHours.from_mapping({"timezone": "Asia/Dubai", "weekly": {"mon": ["08:00-22:00"]},
                                        "closed_dates": ["2026-11-30"]})
    monday_noon = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # 12:00 in Dubai
    monday_night = datetime(2026, 11, 23, 19, 0, tzinfo=timezone.utc)  # 23:00 in Dubai
    assert hours.is_open(monday_noon) and not hours.is_open(monday_night)
    assert hours.describe_next_open(monday_night, "en") == "on Monday at 08:00"  # 30 Nov closed: 7 Dec
    assert "الساعة 08:00" in hours.describe_next_open(monday_night, "ar")
    assert BusinessHours.always().is_open(monday_night)


@pytest.mark.parametrize("text, rating", [("5", 5), ("٤", 4), ("3/5", 3), ("⭐⭐", 2), ("⭐️⭐️⭐️", 3), ("⭐ ⭐", 2),
                                          ("6", None), ("good", None), ("⭐x⭐", None)])
def test_ratings(text: str, rating) -> None:
    assert parse_rating(text) == rating


def test_settings_need_both_languages() -> None:
    with pytest.raises(ConfigError):
        parse_settings({"queues": ["general"], "messages": {"queued": {"en": "only English"}}})


def test_entry_source_from_message_metadata() -> None:
    ad = {"metadata": {"referral": {"source_type": "ad", "source_id": "123", "headline": "50GB offer"}}}
    assert entry_source([ad]).kind == "ad" and entry_source([ad]).headline == "50GB offer"
    link = {"metadata": {"entry": {"ref": "snapcode-summer"}}}
    assert entry_source([link]).kind == "link" and entry_source([link]).ref == "snapcode-summer"
    assert entry_source([{"metadata": {"story": {"id": "s1"}}}]).kind == "story"
    assert entry_source([{}]).kind == "direct"


def test_context_packet_to_dict_is_json_ready() -> None:
    import json

    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    record = HandoffRecord(id=1, public_id="h1", channel="whatsapp_cloud", account="1122", customer="9715",
                           state=OwnerState.ASSIGNED, queue="orders", language="ar", priority=3,
                           reason="customer_request", agent_id=7, version=2, created_at=now, context={})
    reply = MessageRecord(id=5, handoff_id=1, kind="agent", text="هلا", created_at=now, agent_id=7, author="Noura",
                          send_attempt=1, delivery_state="queued")
    inputs = PacketInputs(events=[{"event": "session_started"}, user_event("وين طلبي", entities=ORDER)],
                          messages=[reply], reply_status={5: "read"}, agent_names={7: "Noura"},
                          window_expires_at=datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc), now=now)
    packet = build_context(record, inputs, SETTINGS).to_dict()
    json.dumps(packet)
    assert packet["version"] == 1 and packet["agent"] == "Noura"
    assert packet["channel"]["window_seconds_left"] == 86400
    assert [t["role"] for t in packet["transcript"]] == ["agent", "customer"] or \
        [t["role"] for t in packet["transcript"]] == ["customer", "agent"]
    assert next(t for t in packet["transcript"] if t["role"] == "agent")["status"] == "read"


def test_the_desk_never_sees_the_identity_proof() -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    record = HandoffRecord(id=2, public_id="h2", channel="whatsapp_cloud", account="1122",
                           customer="whatsapp_cloud:971501234567", state=OwnerState.QUEUED, queue="billing",
                           language="en", priority=2, reason="customer_request", agent_id=None, version=1,
                           created_at=now, context={})
    events = [user_event("my bill"), {"event": "slot", "name": "verified_identity", "value": "v1.secret.mac"},
              {"event": "slot", "name": "verification_code", "value": "verified"},
              {"event": "slot", "name": "order_number", "value": "4821937"}]
    packet = build_context(record, PacketInputs(events=events, messages=[], now=now), SETTINGS).to_dict()
    assert packet["slots"] == {"order_number": "4821937"}
    assert "v1.secret.mac" not in str(packet)
    assert packet["customer"]["sender_id"] == "whatsapp_cloud:971501234567"

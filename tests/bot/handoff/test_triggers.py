"""When the bot hands off (handoff.yml rules), pure functions over tracker event dicts."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from bot.config import Config
from bot.handoff.triggers import distress_signals, evaluate, parse_amount
from tests.e2e.handoff_harness import handoff_settings

SETTINGS = handoff_settings()


def user(text: str, intent: Optional[str], confidence: float = 0.9, entities: Optional[List[Dict[str, Any]]] = None):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": confidence},
                                                          "entities": entities or []}}


def decide(*events):
    return evaluate(list(events), SETTINGS)


@pytest.mark.parametrize("text", ["agent", "أبي أكلم موظف", "3ayez a-kallem 7ad", "human please"])
def test_asking_for_a_person_in_any_form(text: str) -> None:
    decision = decide(user(text, "talk_to_human"))
    assert decision.route.reason == "customer_request" and decision.route.queue == "general"


def test_two_not_understood_in_a_row() -> None:
    assert decide(user("asdf", "nlu_fallback", 0.2)) is None
    decision = decide(user("asdf", "nlu_fallback", 0.2), {"event": "bot", "text": "?"}, user("qwer", "greet", 0.1))
    assert decision.route.reason == "not_understood"
    assert decide(user("asdf", "nlu_fallback"), user("hi", "greet"), user("qwer", "nlu_fallback")) is None


def test_a_new_session_starts_counting_again() -> None:
    events = [user("asdf", "nlu_fallback"), {"event": "session_started"}, user("qwer", "nlu_fallback")]
    assert decide(*events) is None


def test_the_same_request_again_and_again() -> None:
    bill = user("my bill?", "check_bill")
    assert decide(bill, bill) is None
    assert decide(bill, bill, bill).route.reason == "repeated_request"
    hello = user("hi", "greet")
    assert decide(hello, hello, hello) is None  # small talk does not count


@pytest.mark.parametrize("text, signal", [
    ("this is urgent, fix my line", "urgency"),
    ("الخدمة واقفة من أمس، عاجل", "urgency"),
    ("ضروري اليوم", "urgency"),
    ("my internet is down!!!", "exclamations"),
    ("MY INTERNET HAS BEEN DOWN FOR DAYS", "all_caps"),
    ("fix it or I switch to another operator", "threatens_to_leave"),
    ("والله بلغي الخط وأروح شركة ثانية", "threatens_to_leave"),
])
def test_distress_signals(text: str, signal: str) -> None:
    assert signal in distress_signals(text, SETTINGS.distress)
    decision = decide(user(text, "complain"))
    assert decision is not None and decision.route.reason == "distress" and decision.priority >= 3


def test_a_calm_complaint_stays_with_the_bot() -> None:
    assert decide(user("the shop staff were rude", "complain")) is None
    assert distress_signals("Ok thanks", SETTINGS.distress) == ()


def test_compensation_above_the_limit() -> None:
    above = user("I want 500 AED back", "request_compensation", entities=[{"entity": "amount", "value": "500 AED"}])
    below = user("I want 50 AED back", "request_compensation", entities=[{"entity": "amount", "value": "50 AED"}])
    assert decide(above).route.reason == "compensation_above_limit"
    assert decide(below) is None
    ask = user("I want compensation", "request_compensation")
    amount = user("٣٠٠ درهم", "inform", entities=[{"entity": "amount", "value": "٣٠٠ درهم"}])
    assert decide(ask, amount).route.queue == "billing"
    assert decide(user("order 4821937", "inform", entities=[{"entity": "amount", "value": "300"}])) is None


def test_the_limit_comes_from_the_environment() -> None:
    import yaml

    from bot.handoff.config import ROOT, parse_settings

    data = yaml.safe_load((ROOT / "handoff.yml").read_text(encoding="utf-8"))
    strict = parse_settings(data, Config({"MAJLIS_COMPENSATION_AUTO_LIMIT": "20"}))
    below = user("I want 50 AED back", "request_compensation", entities=[{"entity": "amount", "value": "50 AED"}])
    assert evaluate([below], strict) is not None


@pytest.mark.parametrize("value, amount", [("150 AED", 150.0), ("١٥٠ ريال", 150.0), ("200 dirham", 200.0),
                                           (50, 50.0), ("12.5", 12.5), ("none", None)])
def test_parse_amount(value, amount) -> None:
    assert parse_amount(value) == amount

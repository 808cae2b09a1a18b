"""The reply language follows the customer, and explicit requests."""
from rasa.shared.core.events import SlotSet, UserUttered

from bot.language.reply import reply_language


def user(text: str, code: str, clear: bool = True) -> UserUttered:
    return UserUttered(text, parse_data={"language": {"code": code, "form": "x", "confidence": 1.0, "clear": clear}})


def test_latest_clear_message_decides():
    events = [user("hello", "en"), user("مرحبا", "ar")]
    assert reply_language(events) == "ar"


def test_unclear_message_keeps_the_language():
    events = [user("hello", "en"), user("👍", "ar", clear=False)]
    assert reply_language(events) == "en"


def test_explicit_request_wins_until_the_customer_switches():
    events = [user("مرحبا", "ar"), SlotSet("language", "en")]
    assert reply_language(events) == "en"
    assert reply_language(events + [user("ok", "ar", clear=False)]) == "en"
    assert reply_language(events + [user("ابي فاتورتي", "ar")]) == "ar"


def test_works_on_event_dicts_as_the_action_server_sees_them():
    events = [user("hello", "en").as_dict(), SlotSet("language", "ar").as_dict()]
    assert reply_language(events) == "ar"


def test_default_when_no_evidence(monkeypatch):
    monkeypatch.setenv("MAJLIS_DEFAULT_LANGUAGE", "en")
    assert reply_language([user("👍", "ar", clear=False)]) == "en"
    assert reply_language([], default="ar") == "ar"

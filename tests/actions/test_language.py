"""Switching the reply language."""
import pytest
from rasa_sdk.events import SlotSet

from actions.language import ActionChangeLanguage, target_language
from tests.actions.conftest import make_tracker, user


@pytest.mark.parametrize("history, text, language, expected", [
    ([], "English please", "en", "en"),
    ([], "can you reply in english", "en", "en"),
    ([], "بالانجليزي لو سمحت", "ar", "en"),
    ([], "انقليزي", "ar", "en"),
    ([], "inglizi law sama7t", "ar", "en"),
    ([user("hello", "greet", language="en")], "عربي لو سمحت", "ar", "ar"),
    ([user("hello", "greet", language="en")], "Arabic please", "en", "ar"),
    ([], "3arabi law sama7t", "ar", "ar"),
    # No language named: the other one than the bot is answering in now.
    ([user("hello", "greet", language="en")], "change the language", "en", "ar"),
    ([user("مرحبا", "greet", language="ar")], "غير اللغة", "ar", "en"),
    # An unclear message ("ok") does not count as a language signal.
    ([user("hello", "greet", language="en")], "ok", None, "ar"),
])
async def test_target_language(dispatcher, domain, history, text, language, expected):
    tracker = make_tracker(history + [user(text, "change_language", language=language)])
    events = await ActionChangeLanguage().run(dispatcher, tracker, domain)
    assert events == [SlotSet("language", expected)]
    assert dispatcher.messages == []   # utter_language_changed follows as its own step


async def test_an_explicit_switch_is_followed_by_the_next_switch(dispatcher, domain):
    tracker = make_tracker([user("مرحبا", "greet", language="ar"), SlotSet("language", "en"),
                            user("switch", "change_language", language=None)])
    assert await ActionChangeLanguage().run(dispatcher, tracker, domain) == [SlotSet("language", "ar")]


def test_target_language_helper():
    assert target_language("english", "ar") == "en"
    assert target_language("", "ar") == "en"
    assert target_language("", "en") == "ar"

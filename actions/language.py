"""Switching the reply language on request."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Text

from rasa_sdk import Action
from rasa_sdk.events import SlotSet

from actions.common import latest_text
from actions.parsing import language_mentioned
from bot.language import LANGUAGE_SLOT, reply_language

if TYPE_CHECKING:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)


def target_language(text: str, current: str) -> str:
    """The language asked for in ``text``; if none is named, the other one than ``current``."""
    return language_mentioned(text) or ("ar" if current == "en" else "en")


class ActionChangeLanguage(Action):
    """Sets the ``language`` slot; the next response (utter_language_changed) comes out in it.

    "English please", "انجليزي", "inglizi" → en; "Arabic", "عربي", "3arabi" → ar.  A
    request naming no language ("change the language", "غير اللغة") switches to the
    other language than the one the bot is answering in now, which after an Arabic
    message is Arabic, so "غير اللغة" means English.
    """

    def name(self) -> Text:
        return "action_change_language"

    async def run(self, dispatcher: "CollectingDispatcher", tracker: "Tracker",
                  domain: "DomainDict") -> List[Dict[Text, Any]]:
        target = target_language(latest_text(tracker), reply_language(tracker.events))
        logger.debug("Reply language set to %s on request.", target)
        return [SlotSet(LANGUAGE_SLOT, target)]

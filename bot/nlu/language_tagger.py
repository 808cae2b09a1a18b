"""Tags every message with its language and script form.

The tag lands in the parse data (``parse_data["language"]``), is stored with the
``user`` event in the tracker, and drives the reply language
(:mod:`bot.language.reply`) and the Arabizi transliteration that follows in the
pipeline.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language.detect import detect
from bot.nlu._component import MessageTransform

LANGUAGE_ATTRIBUTE = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class LanguageTagger(MessageTransform):
    """Sets ``language = {code, form, confidence, clear}`` on each message."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # The code reported for messages without language evidence ("ok", "👍").
        return {"default_language": "ar"}

    def transform(self, message: Message) -> None:
        guess = detect(message.get(TEXT) or "", default=self._config["default_language"])
        message.set(LANGUAGE_ATTRIBUTE, guess.as_dict(), add_to_output=True)

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

from bot.language.arabizi import transliterate
from bot.language.detect import AR, FORM_ARABIZI, detect
from bot.language.dialect import detect_dialect
from bot.nlu._component import MessageTransform

LANGUAGE_ATTRIBUTE = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class LanguageTagger(MessageTransform):
    """Sets ``language = {code, form, confidence, clear[, dialect]}`` on each message.

    Arabic messages (script or Arabizi) also get ``dialect = {region, confidence}``
    (:func:`bot.language.dialect.detect_dialect`; Arabizi is judged on its transliteration).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # The code reported for messages without language evidence ("ok", "👍").
        return {"default_language": "ar"}

    def transform(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        guess = detect(text, default=self._config["default_language"])
        tag = guess.as_dict()
        if guess.clear and guess.code == AR:
            arabic = transliterate(text) if guess.form == FORM_ARABIZI else text
            tag["dialect"] = detect_dialect(arabic).as_dict()
        message.set(LANGUAGE_ATTRIBUTE, tag, add_to_output=True)

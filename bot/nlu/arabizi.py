"""Arabizi tokens get the Arabic they spell as their lemma.

Runs after :class:`~bot.nlu.language_tagger.LanguageTagger` and
:class:`~bot.nlu.normalizer.ArabicNormalizer`.  In a message tagged Arabizi
every Latin word that is not an English word is transliterated; in any message,
words that can only be Arabizi ("3ayez", "habibi", "sa7") are too.  The
featurizers then see ``fatoora`` as فاتوره, the same features as the Arabic
examples, so trainers do not write each intent three times.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language.arabizi import transliterate_word
from bot.language.arabizi_lexicon import FRENCH, LEXICON, STRONG
from bot.language.detect import FORM_ARABIZI, NEUTRAL, is_arabizi_digit_word, english_words
from bot.nlu._component import MessageTransform
from bot.nlu.language_tagger import LANGUAGE_ATTRIBUTE

_LATIN_TOKEN = re.compile(r"^[a-z0-9'\-]+$")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ArabiziTransliterator(MessageTransform):
    """Sets the lemma of Arabizi tokens to their Arabic transliteration."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    def transform(self, message: Message) -> None:
        tag = message.get(LANGUAGE_ATTRIBUTE) or {}
        whole_message_is_arabizi = tag.get("form") == FORM_ARABIZI
        english = english_words()
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            word = (token.lemma or token.text).lower()
            if not _LATIN_TOKEN.match(word) or word.isdigit() or word in NEUTRAL:
                continue
            only_arabizi = word in STRONG or is_arabizi_digit_word(word)
            unknown_in_arabizi = whole_message_is_arabizi and (word in LEXICON or word not in english) and (
                word not in FRENCH)
            if only_arabizi or unknown_in_arabizi:
                token.lemma = transliterate_word(word)

"""Arabic normalisation of token lemmas.

The token *text* and offsets stay as the customer wrote them (entity spans are
annotated on that text); the *lemma*, which the CountVectorsFeaturizers use
(``use_lemma: true``, their default), gets the normalised form, so مَرحبا,
مـــرحبا and مرحبااا produce the same features.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language.normalize import ALL_STEPS, normalize
from bot.nlu._component import MessageTransform


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class ArabicNormalizer(MessageTransform):
    """Writes the normalised form of every token into its lemma.

    Config:
        steps: which steps of :data:`bot.language.normalize.STEPS` to apply (all by default).
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"steps": list(ALL_STEPS)}

    def __init__(self, config: Dict[Text, Any]) -> None:
        super().__init__(config)
        self._steps = tuple(config["steps"])
        normalize("", self._steps)  # fail at load time on an unknown step name

    def transform(self, message: Message) -> None:
        for token in message.get(TOKENS_NAMES[TEXT]) or []:
            token.lemma = normalize(token.text, self._steps) or token.text

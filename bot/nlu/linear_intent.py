"""Majlis' intent classifier: :class:`~bot.nlu.intent_model.LinearIntentModel` in the Rasa graph.

Why not DIET's intent head: on Banking77/ArBanking77 with 10 or 20 examples per intent
a char n-gram logistic regression trained in seconds beat DIET trained in minutes, and
DIET took 50 minutes on the full 31,562 examples (docs/language.md has the numbers).
This component reads the token lemmas that :class:`~bot.nlu.normalizer.ArabicNormalizer`
and :class:`~bot.nlu.arabizi.ArabiziTransliterator` wrote (normalised Arabic, Arabizi
in Arabic script), turns them into the views of :mod:`bot.nlu.intent_features` and
sets ``intent`` and ``intent_ranking`` from the model's probabilities.  Those
probabilities are what the FallbackClassifier's threshold is compared with; the
threshold in config.yml was chosen on a dev split (``bench/nlu_fallback.py``).
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_features import Views, views
from bot.nlu.intent_model import DEFAULTS, LinearIntentModel

logger = logging.getLogger(__name__)


def message_views(message: Message) -> Views:
    """The views of a message from its tokens' lemmas (normalised by the components before)."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return views((t.lemma or t.text).lower() for t in tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over char n-grams, Latin word n-grams and Arabic stems.

    Config (defaults in :data:`bot.nlu.intent_model.DEFAULTS`):
        C: inverse regularisation strength of the logistic regression.
        word_weight, stem_weight: scale of the Latin-word and Arabic-stem blocks
            relative to the char n-gram block (each block is L2-normalised).
        max_features: vocabulary cap per view (keeps the model file small).
        max_iter: iterations of the lbfgs solver.
        ranking_length: intents kept in ``intent_ranking``.
    """

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # model_version is part of the config Rasa fingerprints: raising it when the model's code
        # changes keeps Rasa's training cache from restoring a model trained by older code.
        return {**DEFAULTS, "ranking_length": 10, "model_version": 4}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._model = LinearIntentModel({k: self._config[k] for k in DEFAULTS})

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents in the training data; not trained.")
            return self._resource
        self._model.fit([message_views(e) for e in examples], [e.get(INTENT) for e in examples])
        with self._storage.write_to(self._resource) as directory:
            self._model.save(directory)
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        # Every message gets an intent, an empty one too (the FallbackClassifier after this
        # needs one): with no features it is the intents' prior, below any sensible threshold.
        if not messages:
            return messages
        if not self._model.trained:
            for message in messages:  # untrained (fewer than two intents): no intent, as DIET reports it
                message.set(INTENT, {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, add_to_output=True)
                message.set("intent_ranking", [], add_to_output=True)
            return messages
        probabilities = self._model.probabilities([message_views(m) for m in messages])
        keep = max(int(self._config["ranking_length"]), 1)
        for message, row in zip(messages, probabilities):
            ranking = [{INTENT_NAME_KEY: self._model.intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])}
                       for i in np.argsort(-row)[:keep]]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                component._model = LinearIntentModel.load(directory)
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("LinearIntentClassifier: no trained model in %s; intents will not be set.", resource.name)
        return component

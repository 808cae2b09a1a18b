"""DIET for entities only, trained on the examples that can teach it entities.

With intents left to :class:`~bot.nlu.linear_intent.LinearIntentClassifier`, DIET
(``intent_classification: false``) only learns where order numbers, amounts, areas
and dates are.  Stock DIET still runs every training example through its
transformer every epoch, although most examples have no entity at all: on the
31,562-example benchmark set that alone takes most of the training time.  This
subclass trains on every example with an entity annotation plus a seeded sample
of examples without one (:func:`bot.nlu.entity_features.entity_training_examples`, the
same examples the ``Entity...`` featurizers featurize), which is what it needs to learn
to say "no entity here".
With no entity annotation at all it does not train, and predicts nothing.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.entity_features import entity_training_examples

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class EntityDIET(DIETClassifier):
    """DIETClassifier trained on entity-bearing examples plus a sample of the rest."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DIETClassifier.get_default_config(), "intent_classification": False}

    def train(self, training_data: TrainingData) -> Resource:
        chosen = entity_training_examples(training_data)
        if not chosen:
            logger.info("EntityDIET: no entity annotations in the training data; not trained.")
            return self._resource
        subset = TrainingData(training_examples=chosen,
                              entity_synonyms=training_data.entity_synonyms,
                              regex_features=training_data.regex_features,
                              lookup_tables=training_data.lookup_tables)
        logger.debug("EntityDIET: training on %d examples.", len(chosen))
        return super().train(subset)

"""What DIET learns entities from: the examples with entities plus a sample of the rest.

With intents left to :class:`~bot.nlu.linear_intent.LinearIntentClassifier`, only
:class:`~bot.nlu.entity_diet.EntityDIET` reads the sparse features of Rasa's
featurizers, and it trains on :func:`entity_training_examples` alone.  Stock
featurizers would still build their vocabularies over, and featurize, every
training example: on the 31,562-example benchmark set (no entities at all) that was
about five minutes of the training time, spent on features nothing reads.  The
count-vector and lexical-syntactic featurizers here (``Entity...``, same config as
Rasa's) train on and featurize that subset only; live messages are featurized as
before.  (The RegexFeaturizer stays stock: it is cheap, and Rasa's config checks look
for it by exact class.)

The sample is a function of the training data alone (seeded), so the featurizers
and DIET, which see the same training data, pick the same examples.
"""
from __future__ import annotations

import random
from typing import Any, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.lexical_syntactic_featurizer import LexicalSyntacticFeaturizer
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Examples without entities DIET sees: this many per annotated example, at least MIN_NEGATIVES
# (enough for it to learn "no entity here"; the bot's own data: 405 annotated of 2,378).
NEGATIVES_PER_POSITIVE = 2
MIN_NEGATIVES = 500
SEED = 42


def entity_training_examples(training_data: TrainingData) -> List[Message]:
    """The NLU examples with entity annotations, then a seeded sample of those without
    (empty when no example has an entity: DIET then does not train)."""
    examples = training_data.nlu_examples
    positives = [e for e in examples if e.get(ENTITIES)]
    if not positives:
        return []
    negatives = [e for e in examples if not e.get(ENTITIES)]
    wanted = max(NEGATIVES_PER_POSITIVE * len(positives), MIN_NEGATIVES)
    if len(negatives) > wanted:
        negatives = random.Random(SEED).sample(negatives, wanted)
    return positives + negatives


def entity_training_data(training_data: TrainingData) -> TrainingData:
    """:func:`entity_training_examples` plus the core messages (intent and action names,
    few and cheap), with the synonyms, regexes and lookup tables of ``training_data``."""
    core = [e for e in training_data.training_examples if e.get(TEXT) is None]
    chosen = entity_training_examples(training_data)
    if not chosen:  # nothing for DIET to learn; a small vocabulary still lets live messages be featurized
        examples = training_data.nlu_examples
        chosen = random.Random(SEED).sample(examples, min(MIN_NEGATIVES, len(examples)))
    return TrainingData(training_examples=core + chosen,
                        entity_synonyms=training_data.entity_synonyms,
                        regex_features=training_data.regex_features,
                        lookup_tables=training_data.lookup_tables)


class _EntitySubset:
    """Train on, and featurize, only what :func:`entity_training_data` keeps."""

    def train(self, training_data: TrainingData, *args: Any, **kwargs: Any) -> Resource:
        return super().train(entity_training_data(training_data), *args, **kwargs)  # type: ignore[misc]

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(entity_training_data(training_data).training_examples)  # type: ignore[attr-defined]
        return training_data


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class EntityCountVectorsFeaturizer(_EntitySubset, CountVectorsFeaturizer):
    """CountVectorsFeaturizer over DIET's training subset."""


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class EntityLexicalSyntacticFeaturizer(_EntitySubset, LexicalSyntacticFeaturizer):
    """LexicalSyntacticFeaturizer over DIET's training subset."""


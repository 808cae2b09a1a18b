"""DIET's training subset, and the featurizers that featurize only it."""
from __future__ import annotations

from pathlib import Path
from typing import List

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.entity_features import MIN_NEGATIVES, EntityCountVectorsFeaturizer, entity_training_examples
from tests.bot.nlu.test_components import run_pipeline


def _data(negatives: int) -> List[Message]:
    """Two examples with an order number, ``negatives`` without (each with its own word)."""
    examples = []
    for number in ("4471203", "5580021"):
        message = run_pipeline(f"where is order {number}")
        message.set(INTENT, "order_status")
        message.set(ENTITIES, [{"entity": "order_number", "start": 15, "end": 22, "value": number}])
        examples.append(message)
    for index in range(negatives):
        message = run_pipeline(f"hello word{index}")
        message.set(INTENT, "greet")
        examples.append(message)
    return examples


def test_diet_gets_every_annotated_example_and_a_seeded_sample_of_the_rest() -> None:
    data = TrainingData(_data(MIN_NEGATIVES + 100))
    chosen = entity_training_examples(data)
    assert sum(1 for m in chosen if m.get(ENTITIES)) == 2
    assert len(chosen) == 2 + MIN_NEGATIVES
    assert [m.get(TEXT) for m in chosen] == [m.get(TEXT) for m in entity_training_examples(TrainingData(_data(
        MIN_NEGATIVES + 100)))]


def test_without_annotations_diet_gets_nothing() -> None:
    assert entity_training_examples(TrainingData(_data(30)[2:])) == []


def test_featurizer_learns_and_featurizes_only_diets_examples_but_featurizes_every_live_message(
        tmp_path: Path) -> None:
    examples = _data(MIN_NEGATIVES + 100)
    data = TrainingData(examples)
    chosen = {id(m) for m in entity_training_examples(data)}
    component = EntityCountVectorsFeaturizer.create(
        CountVectorsFeaturizer.get_default_config(), LocalModelStorage(tmp_path), Resource("cv"),
        ExecutionContext(GraphSchema({}), "test"))
    component.train(data)
    component.process_training_data(data)
    featurized = {id(m) for m in examples if m.features}
    assert featurized == chosen
    vocabulary = component.vectorizers[TEXT].vocabulary_
    left_out = next(m for m in examples if id(m) not in chosen).get(TEXT).split()[1]
    assert left_out not in vocabulary and "order" in vocabulary
    live = component.process([run_pipeline(f"hello {left_out} order")])[0]
    assert live.features  # a live message is featurized (its unseen word simply has no column)

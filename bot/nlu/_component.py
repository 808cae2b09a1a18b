"""Shared plumbing for Majlis' stateless NLU components."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData


class MessageTransform(GraphComponent):
    """A component that changes each message in place and learns nothing.

    Subclasses implement :meth:`transform`; training examples and live
    messages then go through exactly the same code.
    """

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = config

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MessageTransform":
        return cls(config)

    def transform(self, message: Message) -> None:
        raise NotImplementedError

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if message.get(TEXT) is not None:
                self.transform(message)
                # Transforms change tokens in place, which Message does not notice: its
                # fingerprint stays cached, and Rasa's training cache (keyed by fingerprints)
                # would hand the featurizers' and DIET's old outputs to a changed pipeline.
                # Setting the tokens again drops the cached fingerprint.
                tokens = message.get(TOKENS_NAMES[TEXT])
                if tokens is not None:
                    message.set(TOKENS_NAMES[TEXT], tokens)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

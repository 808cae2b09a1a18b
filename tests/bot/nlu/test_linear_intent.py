"""The linear intent classifier as Rasa trains, persists, loads and runs it."""
from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.intent_features import views_of_text
from bot.nlu.intent_model import LinearIntentModel
from bot.nlu.linear_intent import LinearIntentClassifier
from tests.bot.nlu.test_components import run_pipeline

# Written for these tests: "where is my order" and "I want to pay my bill", in MSA and Gulf
# Arabic and English, five ways each.
EXAMPLES: List[Tuple[str, str]] = [
    ("أين طلبي", "order_status"), ("أين وصل الطلب", "order_status"), ("متى يصل طلبي", "order_status"),
    ("أريد أن أعرف حالة الطلب", "order_status"), ("where is my order", "order_status"),
    ("has my order shipped", "order_status"), ("track my order please", "order_status"),
    ("order status", "order_status"), ("when will my order arrive", "order_status"), ("وين الطلب", "order_status"),
    ("أريد دفع الفاتورة", "pay_bill"), ("كيف أدفع فاتورتي", "pay_bill"), ("ادفع الفاتوره", "pay_bill"),
    ("سداد الفاتورة الشهرية", "pay_bill"), ("I want to pay my bill", "pay_bill"), ("pay bill", "pay_bill"),
    ("how do I pay my invoice", "pay_bill"), ("settle my bill", "pay_bill"), ("pay my monthly bill", "pay_bill"),
    ("أبي أسدد الفاتورة", "pay_bill"),
]


def _message(text: str, intent: str = "") -> Message:
    message = run_pipeline(text)
    if intent:
        message.set(INTENT, intent)
    return message


def _train(tmp_path: Path) -> Tuple[LinearIntentClassifier, LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("linear_intent")
    context = ExecutionContext(GraphSchema({}), "test")
    component = LinearIntentClassifier.create(LinearIntentClassifier.get_default_config(), storage, resource, context)
    component.train(TrainingData([_message(text, intent) for text, intent in EXAMPLES]))
    return component, storage, resource


def test_trained_model_is_loaded_from_storage_and_predicts_the_same(tmp_path: Path) -> None:
    component, storage, resource = _train(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    loaded = LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage, resource, context)
    for text in ("وين طلبي", "I need to pay the bill"):
        first, second = _message(text), _message(text)
        component.process([first])
        loaded.process([second])
        assert first.get(INTENT) == second.get(INTENT)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.pickle"))


def test_a_dialect_phrasing_reaches_the_msa_intent(tmp_path: Path) -> None:
    component, _, _ = _train(tmp_path)
    for text, intent in (("بدي ادفع الفاتوره", "pay_bill"), ("فين الطلب بتاعي", "order_status"),
                         ("bade adfa3 el fatoora", "pay_bill")):
        message = _message(text)
        component.process([message])
        assert message.get(INTENT)["name"] == intent, text
        ranking = message.get("intent_ranking")
        assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6


def test_an_empty_message_still_gets_an_intent_for_the_fallback(tmp_path: Path) -> None:
    component, _, _ = _train(tmp_path)
    message = Message({TEXT: ""})
    component.process([message])
    assert message.get(INTENT)["name"] in {"order_status", "pay_bill"}


def test_calibration_makes_confidence_track_accuracy() -> None:
    # 10 intents of 30 noisy examples each: the held-out temperature must make the mean top
    # probability close to the share right (it is far from it at T = 1 with C = 30).
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    texts, labels = [], []
    for intent in range(10):
        own = words[intent * 10:(intent + 1) * 10]
        for _ in range(40):
            picked = list(rng.choice(own, 2)) + list(rng.choice(words, 3))
            texts.append(" ".join(picked))
            labels.append(f"i{intent}")
    train_views = [views_of_text(t) for t in texts[::2]]
    test_views = [views_of_text(t) for t in texts[1::2]]
    model = LinearIntentModel().fit(train_views, labels[::2])
    probabilities = model.probabilities(test_views)
    right = np.mean([model.intents[i] == g for i, g in zip(probabilities.argmax(axis=1), labels[1::2])])
    assert model.temperature != 1.0
    assert abs(probabilities.max(axis=1).mean() - right) < 0.1

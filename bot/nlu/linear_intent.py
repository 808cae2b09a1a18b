"""Majlis' intent classifier: one linear model over three views of the message.

Why not DIET's intent head: on Banking77/ArBanking77 with 10-20 examples per intent a
character n-gram logistic regression trained in seconds beat DIET trained in minutes
(docs/language.md has the numbers), and DIET's training time grew to 50 minutes on
the full 31,562 examples.  This component reads the token lemmas that
:class:`~bot.nlu.normalizer.ArabicNormalizer` and
:class:`~bot.nlu.arabizi.ArabiziTransliterator` wrote (normalised Arabic, Arabizi
in Arabic script) and builds, per :mod:`bot.nlu.intent_features`:

- TF-IDF of character n-grams (1-5, within word boundaries) of the lemmas;
- TF-IDF of word uni- and bigrams of Latin words (English word order carries
  meaning that char n-grams within a word miss), weighted ``word_weight``;
- TF-IDF of character n-grams of the light stems and dialect shared forms of the
  Arabic words (``بدي``, ``ابي`` and ``عايز`` all add ``اريد``), weighted ``stem_weight``.

A multinomial logistic regression turns them into a probability per intent: these
probabilities are what the FallbackClassifier's threshold is compared with, and the
threshold in config.yml was chosen on a dev split (``bench/nlu_fallback.py``).

The model is persisted as JSON (vocabularies, intents) and ``.npy`` arrays (IDF
weights, coefficients) loaded with ``allow_pickle=False``: nothing executable.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Sequence, Text, Type

import numpy as np
import scipy.sparse as sp
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
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu.intent_features import Views, views

logger = logging.getLogger(__name__)

_VIEWS = ("chars", "latin_words", "arabic_stems")


def _latin_words(v: Views) -> str:
    return " ".join(w for w in v.words.split() if w.isascii()) or "_"


def _arabic_stems(v: Views) -> str:
    return " ".join([w for w in v.words.split() if not w.isascii()] + v.dialect.split()) or "_"


def _vectorizer(view: str, max_features: Optional[int], vocabulary: Optional[Dict[str, int]] = None) -> TfidfVectorizer:
    if view == "latin_words":
        return TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True,
                               lowercase=False, max_features=max_features, vocabulary=vocabulary)
    low = 1 if view == "chars" else 2
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(low, 5), sublinear_tf=True, lowercase=False,
                           max_features=max_features, vocabulary=vocabulary)


def _view_texts(view: str, all_views: Sequence[Views]) -> List[str]:
    if view == "chars":
        return [v.chars or "_" for v in all_views]
    if view == "latin_words":
        return [_latin_words(v) for v in all_views]
    return [_arabic_stems(v) for v in all_views]


def message_views(message: Message) -> Views:
    """The views of a message from its tokens' lemmas (normalised by the components before)."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return views((t.lemma or t.text).lower() for t in tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Logistic regression over char n-grams, Latin word n-grams and Arabic stems.

    Config:
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
        return {"C": 30.0, "word_weight": 0.5, "stem_weight": 0.5, "max_features": 200_000, "max_iter": 300,
                "ranking_length": 10}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource) -> None:
        self._config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self._vectorizers: Dict[str, TfidfVectorizer] = {}
        self._intents: List[str] = []
        self._coef: Optional[np.ndarray] = None  # (features, intents), float32
        self._intercept: Optional[np.ndarray] = None

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "LinearIntentClassifier":
        return cls(config, model_storage, resource)

    # -- features ---------------------------------------------------------------

    def _weights(self) -> Dict[str, float]:
        return {"chars": 1.0, "latin_words": float(self._config["word_weight"]),
                "arabic_stems": float(self._config["stem_weight"])}

    def _matrix(self, all_views: Sequence[Views], fit: bool) -> sp.csr_matrix:
        blocks = []
        for view, weight in self._weights().items():
            texts = _view_texts(view, all_views)
            if fit:
                self._vectorizers[view] = _vectorizer(view, self._config["max_features"])
                block = self._vectorizers[view].fit_transform(texts)
            else:
                block = self._vectorizers[view].transform(texts)
            blocks.append(weight * block)
        return sp.hstack(blocks).tocsr()

    # -- training ---------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        intents = sorted({e.get(INTENT) for e in examples})
        if len(intents) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents in the training data; not trained.")
            return self._resource
        x = self._matrix([message_views(e) for e in examples], fit=True)
        model = LogisticRegression(C=self._config["C"], max_iter=self._config["max_iter"], random_state=42)
        model.fit(x, [e.get(INTENT) for e in examples])
        self._intents = [str(c) for c in model.classes_]
        self._coef = model.coef_.T.astype(np.float32)
        self._intercept = model.intercept_.astype(np.float32)
        self.persist()
        return self._resource

    # -- prediction -------------------------------------------------------------

    def probabilities(self, messages: Sequence[Message]) -> np.ndarray:
        """(messages, intents) softmax probabilities."""
        scores = self._matrix([message_views(m) for m in messages], fit=False) @ self._coef + self._intercept
        scores = np.asarray(scores, dtype=np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: List[Message]) -> List[Message]:
        if self._coef is None:
            return messages  # untrained (fewer than two intents): leave intent unset, like DIET
        texts = [m for m in messages if m.get(TEXT)]
        if not texts:
            return messages
        probabilities = self.probabilities(texts)
        keep = max(int(self._config["ranking_length"]), 1)
        for message, row in zip(texts, probabilities):
            order = np.argsort(-row)[:keep]
            ranking = [{INTENT_NAME_KEY: self._intents[i], PREDICTED_CONFIDENCE_KEY: float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    # -- persistence (no pickle) ------------------------------------------------

    def persist(self) -> None:
        with self._storage.write_to(self._resource) as directory:
            meta = {"intents": self._intents, "views": {}}
            for view, vectorizer in self._vectorizers.items():
                meta["views"][view] = {k: int(v) for k, v in vectorizer.vocabulary_.items()}
                np.save(directory / f"idf-{view}.npy", vectorizer.idf_.astype(np.float64), allow_pickle=False)
            (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            np.save(directory / "coef.npy", self._coef, allow_pickle=False)
            np.save(directory / "intercept.npy", self._intercept, allow_pickle=False)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "LinearIntentClassifier":
        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
                for view in _VIEWS:
                    vectorizer = _vectorizer(view, None, vocabulary=meta["views"][view])
                    vectorizer.idf_ = np.load(directory / f"idf-{view}.npy", allow_pickle=False)
                    component._vectorizers[view] = vectorizer
                component._coef = np.load(directory / "coef.npy", allow_pickle=False)
                component._intercept = np.load(directory / "intercept.npy", allow_pickle=False)
                component._intents = list(meta["intents"])
        except (ValueError, FileNotFoundError, KeyError):
            logger.warning("LinearIntentClassifier: no trained model found in %s; intents will not be set.",
                           resource.name)
        return component

"""The linear intent model itself, independent of Rasa (the component wraps it).

Three TF-IDF blocks over the views of :mod:`bot.nlu.intent_features`, each
L2-normalised and scaled by its weight, and one multinomial logistic regression:

- ``chars``: character 1-5-grams within word boundaries of the normalised tokens;
- ``latin_words``: word uni- and bigrams of the Latin words (English word order
  carries meaning that char n-grams within a word miss);
- ``arabic_stems``: character 2-5-grams of the Arabic light stems plus the dialect
  shared forms (بدي, ابي and عايز all add اريد);
- ``arabic_words``: word uni- and bigrams of the Arabic stems with dialect words
  replaced by their shared forms (بدي اغير and ابغى اغير are one bigram).

**Calibration.** A regularised logistic regression over 77 intents spreads its
probability thinly when it has few examples (right 65% of the time with a top
probability of 0.2), so a fixed fallback threshold would mean a different thing at
every data size.  ``fit`` therefore holds out every fifth example of each intent
(``_held_out``), fits a temperature T on their scores by maximum likelihood
(Guo et al., 2017: scores / T before the softmax), then refits on everything, starting
from the first fit's weights, and keeps T.  The probabilities then estimate how often the top intent is right, and the
threshold chosen on a dev split (``bench/nlu_fallback.py``) holds at 10 examples per
intent and at 400.

Kept free of Rasa so that the benchmarks (``bench/nlu_fallback.py``) fit exactly
this model on a dev split, and persisted as JSON + ``.npy`` arrays read with
``allow_pickle=False``: a model file cannot carry code.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.nlu.intent_features import Views

VIEWS = ("chars", "latin_words", "arabic_stems", "arabic_words")
# Chosen on the dev split (bench/nlu_dev.py, docs/language.md): C 10 is as accurate as 30 and
# converges in fewer iterations; Arabic word bigrams on the dialect-mapped stems add ~0.3 points.
DEFAULTS: Dict[str, Any] = {"C": 10.0, "word_weight": 0.5, "stem_weight": 0.5, "arabic_word_weight": 0.5,
                            "class_weight": None, "max_features": 200_000,
                            "max_iter": 300, "calibrate": True, "min_df_from": 5000}
_TEMPERATURES = np.exp(np.linspace(np.log(0.05), np.log(5.0), 61))


def _view_texts(view: str, all_views: Sequence[Views]) -> List[str]:
    if view == "chars":
        return [v.chars or "_" for v in all_views]
    if view == "latin_words":
        return [" ".join(w for w in v.words.split() if w.isascii()) or "_" for v in all_views]
    if view == "arabic_words":
        return [" ".join(w for w in v.mapped.split() if not w.isascii()) or "_" for v in all_views]
    return [" ".join([w for w in v.words.split() if not w.isascii()] + v.dialect.split()) or "_"
            for v in all_views]


def _vectorizer(view: str, max_features: Optional[int], vocabulary: Optional[Dict[str, int]] = None,
                min_df: int = 1) -> TfidfVectorizer:
    if view in ("latin_words", "arabic_words"):
        return TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, 2), sublinear_tf=True,
                               lowercase=False, max_features=max_features, vocabulary=vocabulary, min_df=min_df)
    return TfidfVectorizer(analyzer="char_wb", ngram_range=(1 if view == "chars" else 2, 5), sublinear_tf=True,
                           lowercase=False, max_features=max_features, vocabulary=vocabulary, min_df=min_df)


def _held_out(intents: Sequence[str]) -> List[int]:
    """Every fifth example of each intent that has three or more: the calibration set (or none
    when that would be fewer than 20 examples)."""
    counts: Dict[str, int] = {}
    for intent in intents:
        counts[intent] = counts.get(intent, 0) + 1
    seen: Dict[str, int] = {}
    held = []
    for index, intent in enumerate(intents):
        seen[intent] = seen.get(intent, 0) + 1
        if counts[intent] >= 3 and seen[intent] % 5 == 3:
            held.append(index)
    return held if len(held) >= 20 else []


class LinearIntentModel:
    """fit / probabilities / save / load over message views."""

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        self.config = {**DEFAULTS, **(config or {})}
        self.vectorizers: Dict[str, TfidfVectorizer] = {}
        self.intents: List[str] = []
        self.coef: Optional[np.ndarray] = None  # (features, intents), float32
        self.intercept: Optional[np.ndarray] = None
        self.temperature = 1.0

    @property
    def trained(self) -> bool:
        return self.coef is not None

    def _weights(self) -> Dict[str, float]:
        weights = {"chars": 1.0, "latin_words": float(self.config["word_weight"]),
                   "arabic_stems": float(self.config["stem_weight"]),
                   "arabic_words": float(self.config.get("arabic_word_weight", 0.0))}
        return {view: weight for view, weight in weights.items() if weight > 0}

    def _matrix(self, all_views: Sequence[Views], fit: bool) -> sp.csr_matrix:
        blocks = []
        for view, weight in self._weights().items():
            texts = _view_texts(view, all_views)
            if fit:
                # With thousands of examples, n-grams seen once are mostly noise and make the
                # model (intents x features weights) and its training several times larger.
                min_df = 2 if len(texts) >= self.config["min_df_from"] else 1
                self.vectorizers[view] = _vectorizer(view, self.config["max_features"], min_df=min_df)
                block = self.vectorizers[view].fit_transform(texts)
            else:
                block = self.vectorizers[view].transform(texts)
            blocks.append(weight * block)
        return sp.hstack(blocks).tocsr()

    def _classifier(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        # warm_start: the final fit on all examples starts from the calibration fit's weights.
        return LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"], random_state=42,
                                  warm_start=True, class_weight=self.config.get("class_weight"))

    def _keep(self, classifier: Any) -> None:
        self.intents = [str(c) for c in classifier.classes_]
        coef, intercept = classifier.coef_, classifier.intercept_
        if len(self.intents) == 2:  # binary: one score for the second class; softmax over [0, score]
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.concatenate([[0.0], intercept])
        self.coef = coef.T.astype(np.float32)
        self.intercept = np.asarray(intercept, dtype=np.float32)

    def fit(self, all_views: Sequence[Views], intents: Sequence[str]) -> "LinearIntentModel":
        """Vectorizers on all examples; if calibrating, a fit without the held-out fifth and the
        temperature on it; then the fit on all examples (warm-started from the first)."""
        x = self._matrix(all_views, fit=True)
        intents = list(intents)
        classifier = self._classifier()
        self.temperature = 1.0
        held = _held_out(intents) if self.config["calibrate"] else []
        if held:
            keep = np.ones(len(intents), dtype=bool)
            keep[held] = False
            classifier.fit(x[keep], [i for i, k in zip(intents, keep) if k])
            self._keep(classifier)
            self.temperature = self._temperature(self._scores(x[held]), [intents[i] for i in held])
            if set(classifier.classes_) != set(intents):  # an intent only in the held-out part: start afresh
                classifier = self._classifier()
        classifier.fit(x, intents)
        self._keep(classifier)
        return self

    def _temperature(self, scores: np.ndarray, gold: Sequence[str]) -> float:
        """The T that maximises the likelihood of the held-out examples' intents."""
        column = {name: j for j, name in enumerate(self.intents)}
        rows = [(k, column[g]) for k, g in enumerate(gold) if g in column]
        if not rows:
            return 1.0
        index = (np.array([r for r, _ in rows]), np.array([c for _, c in rows]))

        def nll(temperature: float) -> float:
            z = scores / temperature
            z = z - z.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(z).sum(axis=1))
            return float(np.mean(log_norm[index[0]] - z[index]))

        return float(min(_TEMPERATURES, key=nll))

    def _scores(self, x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x @ self.coef + self.intercept, dtype=np.float64)

    def scores(self, all_views: Sequence[Views]) -> np.ndarray:
        """(messages, intents) raw linear scores (before temperature and softmax)."""
        return self._scores(self._matrix(all_views, fit=False))

    def probabilities(self, all_views: Sequence[Views]) -> np.ndarray:
        """(messages, intents) calibrated softmax probabilities, columns in the order of :attr:`intents`."""
        scores = self.scores(all_views) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, directory: Path) -> None:
        meta = {"intents": self.intents, "config": self.config, "temperature": self.temperature,
                "views": {view: {k: int(v) for k, v in vec.vocabulary_.items()}
                          for view, vec in self.vectorizers.items()}}
        for view, vectorizer in self.vectorizers.items():
            np.save(directory / f"idf-{view}.npy", vectorizer.idf_.astype(np.float64), allow_pickle=False)
        (directory / "model.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.save(directory / "coef.npy", self.coef, allow_pickle=False)
        np.save(directory / "intercept.npy", self.intercept, allow_pickle=False)

    @classmethod
    def load(cls, directory: Path) -> "LinearIntentModel":
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        model = cls(meta["config"])
        for view in (v for v in VIEWS if v in meta["views"]):
            vectorizer = _vectorizer(view, None, vocabulary=meta["views"][view])
            vectorizer.idf_ = np.load(directory / f"idf-{view}.npy", allow_pickle=False)
            model.vectorizers[view] = vectorizer
        model.coef = np.load(directory / "coef.npy", allow_pickle=False)
        model.intercept = np.load(directory / "intercept.npy", allow_pickle=False)
        model.intents = list(meta["intents"])
        model.temperature = float(meta.get("temperature", 1.0))
        return model

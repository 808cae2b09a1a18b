"""The linear reference of bench/nlu.py: char n-gram TF-IDF + logistic regression.

The simplest strong baseline for intent classification on few examples: TF-IDF of
character 2-5-grams within word boundaries (sublinear term frequency) of the raw
text, lower-cased, and a multinomial logistic regression (C = 10, lbfgs). Nothing
Arabic-specific, no normalisation, no Rasa: it is the floor a Majlis pipeline must
clear, trained on the same examples in the same run (in-process, at the same nice
level; CPU and wall time measured around fit and predict).
"""
from __future__ import annotations

import time
from typing import Dict, List, Sequence, Tuple

import numpy as np

NAME = "linear reference (char 2-5 TF-IDF + LR)"
SETTINGS = "TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True) + LogisticRegression(C=10)"


def fit_predict(train: Sequence[Tuple[str, str]],
                tests: Dict[str, List[str]]) -> Tuple[Dict[str, List[Dict[str, object]]], Dict[str, float]]:
    """Predictions per test set (``top``, ``final`` = ``top``, ``confidence``) and timings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    wall, cpu = time.perf_counter(), time.process_time()
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    model = LogisticRegression(C=10.0, max_iter=300, random_state=42)
    model.fit(vectorizer.fit_transform([text for text, _ in train]), [label for _, label in train])
    timing = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    cpu = time.process_time()
    out: Dict[str, List[Dict[str, object]]] = {}
    for name, texts in tests.items():
        probabilities = model.predict_proba(vectorizer.transform(texts))
        best = np.argmax(probabilities, axis=1)
        out[name] = [{"top": str(model.classes_[i]), "final": str(model.classes_[i]),
                      "confidence": float(row[i])} for i, row in zip(best, probabilities)]
    timing["predict_s"] = time.process_time() - cpu
    return out, timing

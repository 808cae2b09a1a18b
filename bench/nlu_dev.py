"""Tuning the intent model on a dev split, never on a test set.

Every change to :class:`bot.nlu.intent_model.LinearIntentModel` (views, weights,
C, class balance) is measured here first: the model is fitted, for each variant,
on seeded samples (10, 20 per intent and language) of the *training* files minus
the dev examples, and scored (top-1) on the dev split of ``bench/nlu_fallback.py``
(10% of Banking77 train held out per intent; ArBanking77's validation file),
next to the linear reference of ``bench/nlu_reference.py`` fitted on the same
examples.  No benchmark test set is read.

Usage::

    python bench/nlu_dev.py --sizes 10,20 --variant '{"C": 30}' --variant '{"C": 10, "arabic_word_weight": 0.5}'
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import nlu_reference  # noqa: E402
from common import be_nice  # noqa: E402
from nlu import per_intent_sample  # noqa: E402
from nlu_fallback import dev_split  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,20")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--variant", action="append", default=[], help="JSON config overrides of the model")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    be_nice()
    sys.path.insert(0, str(common.ROOT))
    from bot.nlu.intent_features import views_of_text
    from bot.nlu.intent_model import LinearIntentModel

    pools, devs = dev_split(args.seed)
    dev_views = {name: [views_of_text(text) for text, _ in rows] for name, rows in devs.items()}
    variants: List[Dict[str, object]] = [json.loads(v) for v in args.variant] or [{}]
    for size in [int(s) for s in args.sizes.split(",")]:
        rows = per_intent_sample(pools["en"], size, args.seed) + per_intent_sample(pools["ar"], size, args.seed)
        train_views = [views_of_text(t) for t, _ in rows]
        if not args.no_reference:
            predictions, timing = nlu_reference.fit_predict(rows, {k: [t for t, _ in v] for k, v in devs.items()})
            scores = {k: sum(p["top"] == g for p, (_, g) in zip(predictions[k], devs[k])) / len(devs[k]) for k in devs}
            print(f"n={size or 'all'} reference: " + "  ".join(f"{k[:7]} {100 * v:.1f}" for k, v in scores.items())
                  + f"  ({timing['cpu_s']:.0f} s)", flush=True)
        for variant in variants:
            cpu = time.process_time()
            model = LinearIntentModel(variant).fit(train_views, [label for _, label in rows])
            spent = time.process_time() - cpu
            scores = {}
            for name, rows_dev in devs.items():
                probabilities = model.probabilities(dev_views[name])
                top = [model.intents[i] for i in probabilities.argmax(axis=1)]
                scores[name] = sum(t == g for t, (_, g) in zip(top, rows_dev)) / len(rows_dev)
            print(f"n={size or 'all'} {json.dumps(variant)}: "
                  + "  ".join(f"{k[:7]} {100 * v:.1f}" for k, v in scores.items())
                  + f"  T={model.temperature:.2f} ({spent:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

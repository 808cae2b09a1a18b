"""Does augmenting Arabic training examples through the dialect lexicon help? A dialect-shifted dev test.

For each Arabic training example and each region (Gulf, Egyptian, Levantine,
Maghrebi), a variant replaces every MSA word that the lexicon
(:mod:`bot.language.dialect_lexicon`) has a dialect word for with that region's
first spelling (اريد -> بدي, ماذا -> شو, ...); examples without such a word get no
variant.  The intent model (:class:`bot.nlu.intent_model.LinearIntentModel`, as
shipped) is trained with and without the variants on the examples of the ArBanking77
*train* file that the dialect tagger calls MSA (``--per-intent`` per intent, seeded),
and scored on ArBanking77's *validation* file split by the tagger: the examples it
calls Levantine (dialect-shifted: train MSA, test Palestinian) and those it calls MSA
(to see that nothing is lost).  No test file is read.

Usage::

    python bench/nlu_augment.py --per-intent 10
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import be_nice, load_line, machine_line  # noqa: E402
from nlu import load_sets, per_intent_sample  # noqa: E402
from nlu_fallback import arabic_val  # noqa: E402

_WORD = re.compile(r"\w+")


def variants(text: str) -> List[str]:
    from bot.language.dialect_lexicon import REGIONS, dialect_spellings
    from bot.language.normalize import normalize

    words = [normalize(w) for w in _WORD.findall(text)]
    out = []
    for region in REGIONS:
        spellings = dialect_spellings(region)
        replaced = [spellings.get(w, w) for w in words]
        if replaced != words:
            out.append(" ".join(replaced))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    be_nice()
    sys.path.insert(0, str(common.ROOT))
    from bot.language.dialect import detect_dialect
    from bot.nlu.intent_features import views_of_text
    from bot.nlu.intent_model import LinearIntentModel

    print(machine_line())
    train = [row for row in load_sets()[0]["ar"] if detect_dialect(row[0]).region == "msa"]
    rows = per_intent_sample(train, args.per_intent, args.seed)
    augmented: List[Tuple[str, str]] = rows + [(v, label) for text, label in rows for v in variants(text)]
    dev = arabic_val()
    tagged = {"Levantine-tagged val": [r for r in dev if detect_dialect(r[0]).region == "levantine"],
              "MSA-tagged val": [r for r in dev if detect_dialect(r[0]).region == "msa"]}
    print(f"train: {len(rows)} MSA-tagged examples, {len(augmented) - len(rows)} variants; "
          + ", ".join(f"{k} n={len(v)}" for k, v in tagged.items()))
    for name, data in (("without augmentation", rows), ("with augmentation", augmented)):
        model = LinearIntentModel().fit([views_of_text(t) for t, _ in data], [label for _, label in data])
        scores = []
        for dev_name, dev_rows in tagged.items():
            probabilities = model.probabilities([views_of_text(t) for t, _ in dev_rows])
            right = sum(model.intents[i] == g for i, (_, g) in zip(probabilities.argmax(axis=1), dev_rows))
            scores.append(f"{dev_name} top-1 {100 * right / len(dev_rows):.1f}%")
        print(f"{name}: " + ", ".join(scores), flush=True)
    print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fallback threshold: coverage/accuracy curves on a dev split, and the threshold a stated rule picks.

Majlis' intent model (:class:`bot.nlu.intent_model.LinearIntentModel`, the one
``config.yml`` ships) is fitted on a seeded sample of the training data and scored
on a *dev* split that no benchmark test set touches:

- English: 10% of Banking77 train, held out per intent (seeded), never sampled for training;
- Arabic: ArBanking77's own validation file (MSA + Palestinian, 2,464 examples).

For every threshold t (FallbackClassifier: answer only when the top intent's
probability is at least t) the curve gives coverage (share answered), served
accuracy (answered and right) and the wrong-answer rate (answered and wrong), per
language and training size, next to the top-1 accuracy of the always-answering linear
reference (``bench/nlu_reference.py``) fitted on the same examples.

Rules (``--rule``):

- ``floor`` (shipped): a wrong answer is worse than a handoff, so as many wrong
  answers as possible become handoffs, as long as the assistant still serves more
  customers than the always-answering reference: the chosen (threshold, ambiguity)
  has the fewest wrong answers (pooled) among those whose served accuracy is at least
  the reference's top-1 + ``--margin`` points on *every* dev curve.  Put the other way:
  the wrong-answer cap is as low as it can be while served accuracy stays at the floor or above,
  and under that cap the threshold maximises served accuracy.
- ``cost``: a wrong answer costs ``--wrong-cost`` handoffs; the threshold maximises
  ``served - wrong_cost x wrong`` pooled over the languages and sizes (cost 1: answer
  when more likely right than wrong).

Usage::

    python bench/nlu_fallback.py                   # sizes 10, 20, all; writes bench/results/nlu-fallback.{md,json,png}
    python bench/nlu_fallback.py --rule cost --wrong-cost 2    # a wrong answer weighs two handoffs
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import nlu_reference  # noqa: E402
from common import be_nice, dataset, load_line, machine_line, pyplot, table, write_report  # noqa: E402
from nlu import Example, load_sets, per_intent_sample  # noqa: E402

THRESHOLDS = [round(0.05 * i, 2) for i in range(0, 20)]
AMBIGUITY = [0.0, 0.05, 0.1]  # FallbackClassifier's ambiguity_threshold: top minus second below it = fallback


def arabic_val() -> List[Example]:
    import csv

    from nlu import _norm

    english = {_norm(label): label for _, label in load_sets()[0]["en"]}
    with open(dataset("arbanking77", "Banking77_intents.csv"), encoding="utf-8") as handle:
        to_category = {row["label_ar"]: english[_norm(row["label_en"])] for row in csv.DictReader(handle)}
    with open(dataset("arbanking77", "Banking77_Arabized_MSA_PAL_val.csv"), encoding="utf-8") as handle:
        return [(row["text"].strip(), to_category[row["label"]]) for row in csv.DictReader(handle) if row["text"].strip()]


def dev_split(seed: int) -> Tuple[Dict[str, List[Example]], Dict[str, List[Example]]]:
    """(training pools, dev sets): English train minus 10% per intent, Arabic train; English and Arabic dev."""
    train, _ = load_sets()
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    for row in train["en"]:
        by_intent[row[1]].append(row)
    rng = random.Random(seed)
    pool, dev = [], []
    for intent in sorted(by_intent):
        rows = sorted(by_intent[intent])
        rng.shuffle(rows)
        cut = max(1, len(rows) // 10)
        dev += rows[:cut]
        pool += rows[cut:]
    return {"en": pool, "ar": train["ar"]}, {"English (Banking77 train, 10% held out)": dev,
                                             "Arabic (ArBanking77 val)": arabic_val()}


def curve(probabilities: np.ndarray, intents: Sequence[str], gold: Sequence[str]) -> List[Dict[str, float]]:
    ordered = np.sort(probabilities, axis=1)
    top, margin = ordered[:, -1], ordered[:, -1] - ordered[:, -2]
    right = np.array([intents[i] == g for i, g in zip(probabilities.argmax(axis=1), gold)])
    points = []
    for ambiguity in AMBIGUITY:
        for t in THRESHOLDS:
            answered = (top >= t) & (margin >= ambiguity)
            points.append({"threshold": t, "ambiguity": ambiguity, "coverage": float(answered.mean()),
                           "served": float((answered & right).mean()), "wrong": float((answered & ~right).mean()),
                           "precision": float(right[answered].mean()) if answered.any() else 1.0})
    return points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10,20,0")
    parser.add_argument("--rule", choices=("floor", "cost"), default="floor")
    parser.add_argument("--margin", type=float, default=0.0, help="floor rule: points above the reference")
    parser.add_argument("--wrong-cost", type=float, default=1.0, help="cost rule: handoffs a wrong answer costs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--name", default="nlu-fallback")
    parser.add_argument("--rechoose", action="store_true",
                        help="apply the rule again to the curves saved in bench/results/<name>.json (no refit)")
    args = parser.parse_args()
    if args.rechoose:
        saved = json.loads((common.RESULTS / f"{args.name}.json").read_text(encoding="utf-8"))
        machine = (common.RESULTS / f"{args.name}.md").read_text(encoding="utf-8").splitlines()[2]
        dev_sizes = {name: int(n) for name, n in saved.get("dev_sizes", {}).items()} or {
            name: len(rows) for name, rows in dev_split(args.seed)[1].items()}
        chosen = choose(args, saved["curves"], saved["reference_top1"])
        report(args, machine, saved["curves"], chosen, dev_sizes, saved["reference_top1"])
        return 0
    be_nice()
    sys.path.insert(0, str(common.ROOT))
    from bot.nlu.intent_features import views_of_text
    from bot.nlu.intent_model import LinearIntentModel

    machine = machine_line()
    pools, devs = dev_split(args.seed)
    dev_views = {name: [views_of_text(text) for text, _ in rows] for name, rows in devs.items()}
    curves: Dict[str, Dict[str, List[Dict[str, float]]]] = {}
    reference: Dict[str, Dict[str, float]] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        rows = per_intent_sample(pools["en"], size, args.seed) + per_intent_sample(pools["ar"], size, args.seed)
        predicted, _ = nlu_reference.fit_predict(rows, {name: [t for t, _ in dev] for name, dev in devs.items()})
        reference["all" if size <= 0 else f"{size} per intent"] = {
            name: sum(p["top"] == g for p, (_, g) in zip(predicted[name], devs[name])) / len(devs[name])
            for name in devs}
        model = LinearIntentModel().fit([views_of_text(t) for t, _ in rows], [label for _, label in rows])
        label = "all" if size <= 0 else f"{size} per intent"
        curves[label] = {name: curve(model.probabilities(dev_views[name]), model.intents, [g for _, g in devs[name]])
                         for name in devs}
        print(f"[fallback] {label}: done", file=sys.stderr)
    chosen = choose(args, curves, reference)
    report(args, machine, curves, chosen, {name: len(rows) for name, rows in devs.items()}, reference)
    return 0


def choose(args: argparse.Namespace, curves: Dict[str, Dict[str, List[Dict[str, float]]]],
           reference: Dict[str, Dict[str, float]]) -> Tuple[float, float]:
    """The (threshold, ambiguity) the rule picks (see the module docstring)."""
    utility: Dict[Tuple[float, float], float] = defaultdict(float)
    wrong: Dict[Tuple[float, float], float] = defaultdict(float)
    beats: Dict[Tuple[float, float], bool] = defaultdict(lambda: True)
    for size, per_set in curves.items():
        for name, points in per_set.items():
            for p in points:
                key = (p["threshold"], p["ambiguity"])
                utility[key] += p["served"] - args.wrong_cost * p["wrong"]
                wrong[key] += p["wrong"]
                beats[key] &= p["served"] >= reference[size][name] + args.margin / 100
    if args.rule == "cost":
        return max(utility, key=lambda key: (round(utility[key], 9), -key[1], -key[0]))
    allowed = [key for key in wrong if beats[key]]
    if not allowed:  # nothing beats the floor: answer everything, the most it can serve
        return (0.0, 0.0)
    return min(allowed, key=lambda key: (round(wrong[key], 9), key[1], key[0]))


def report(args: argparse.Namespace, machine: str, curves: Dict[str, Dict[str, List[Dict[str, float]]]],
           chosen: Tuple[float, float], dev_sizes: Dict[str, int], reference: Dict[str, Dict[str, float]]) -> None:
    threshold, ambiguity = chosen
    lines = ["# The fallback threshold: coverage and accuracy on a dev split", "", machine, "",
             f"Model: `bot.nlu.intent_model.LinearIntentModel` as shipped, trained on seeded samples of the training "
             f"data (seed {args.seed}) without the dev examples. Dev sets: "
             + ", ".join(f"{k} n={v}" for k, v in dev_sizes.items()) + ". No benchmark test set is used.", "",
             (f"**Rule:** a wrong answer to a customer is worse than a handoff, so the threshold turns as many "
              f"wrong answers into handoffs as it can while the assistant still serves at least as many customers as "
              f"the always-answering linear reference: the fewest wrong answers (pooled) among the settings whose served "
              f"accuracy is at least the reference's top-1 + {args.margin:g} points on every dev curve "
              if args.rule == "floor" else
              f"**Rule:** a wrong answer costs {args.wrong_cost:g} handoff(s); the threshold maximises "
              f"served − {args.wrong_cost:g} × wrong, summed over languages and training sizes ")
             + f"(thresholds 0-0.95 by 0.05, ambiguity thresholds {AMBIGUITY}). "
             f"**Chosen: threshold {threshold:.2f}, ambiguity_threshold {ambiguity:.2f}.**", "",
             "Linear reference (always answers) top-1 on the same dev sets: "
             + "; ".join(f"{size}: " + ", ".join(f"{name.split(' (')[0]} {100 * v:.1f}%" for name, v in per.items())
                         for size, per in reference.items()) + ".", ""]
    rows = []
    for size, per_set in curves.items():
        for name, points in per_set.items():
            for p in points:
                mark = (p["threshold"], p["ambiguity"]) == chosen
                if p["ambiguity"] == ambiguity and (p["threshold"] in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6) or mark):
                    rows.append([size, name, f"{p['threshold']:.2f}" + (" ←" if mark else ""),
                                 f"{100 * p['coverage']:.1f}%", f"{100 * p['served']:.1f}%",
                                 f"{100 * p['wrong']:.1f}%", f"{100 * p['precision']:.1f}%"])
    lines += [f"Curve at ambiguity_threshold {ambiguity:.2f} (all points in the JSON file):", ""]
    lines += table(["trained on", "dev set", "threshold", "answered", "served (right)", "wrong", "right when answered"],
                   rows)
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/nlu_fallback.py', *sys.argv[1:]])}`"]
    if args.rechoose:
        lines += ["", "(`--rechoose`: the curves and the machine line are those of the run that fitted the models, "
                  "saved in the JSON file; only the rule was applied again.)"]
    write_report(args.name, lines)
    (common.RESULTS / f"{args.name}.json").write_text(json.dumps({"chosen": {"threshold": threshold, "ambiguity_threshold": ambiguity}, "rule": args.rule,
                                                              "margin": args.margin, "wrong_cost": args.wrong_cost,
                                                              "reference_top1": reference, "dev_sizes": dev_sizes,
                                                              "curves": curves}, indent=1), encoding="utf-8")
    plt = pyplot()
    fig, axes = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.8), sharey=True)
    for ax, (size, per_set) in zip(np.atleast_1d(axes), curves.items()):
        for name, points in per_set.items():
            points = [p for p in points if p["ambiguity"] == ambiguity]
            ax.plot([p["coverage"] for p in points], [p["precision"] for p in points], marker=".", label=name)
            mark = next(p for p in points if p["threshold"] == threshold)
            ax.scatter([mark["coverage"]], [mark["precision"]], color="black", zorder=3)
        ax.set_title(f"trained on {size}", fontsize=9)
        ax.set_xlabel("share answered (coverage)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("right when answered")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"Fallback threshold: coverage vs accuracy (black: chosen {threshold:.2f})", fontsize=10)
    fig.tight_layout()
    fig.savefig(common.RESULTS / f"{args.name}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

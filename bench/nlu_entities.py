"""Entity extraction on the bot's own data: shipped featurizers vs Rasa's stock ones.

``config.yml`` featurizes only DIET's training subset (``bot/nlu/entity_features.py``);
this checks that entities are found as well as with Rasa's stock featurizers over every
example.  The annotated examples of ``data/nlu`` (English, Arabic, Arabizi) are split
per intent, seeded: 80% train, 20% held out.  Both pipelines are trained on the same
80% (``rasa train nlu`` at nice 10, wall and CPU time measured) and parse the held-out
messages; an entity counts as found when its type and exact character span match.

Usage::

    python bench/nlu_entities.py
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Set, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import ROOT, TMP, be_nice, load_line, machine_line, table, write_report  # noqa: E402
from nlu import nlu_config, train  # noqa: E402

STOCK = {"bot.nlu.entity_features.EntityCountVectorsFeaturizer": "CountVectorsFeaturizer",
         "bot.nlu.entity_features.EntityLexicalSyntacticFeaturizer": "LexicalSyntacticFeaturizer"}
Span = Tuple[str, int, int]


def split(seed: int) -> Tuple[object, List[object]]:
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_data(str(ROOT / "data" / "nlu"))
    by_intent: Dict[str, List[object]] = defaultdict(list)
    for example in data.intent_examples:
        by_intent[example.get("intent")].append(example)
    rng = random.Random(seed)
    kept, held = [], []
    for intent in sorted(by_intent):
        rows = sorted(by_intent[intent], key=lambda m: m.get("text"))
        rng.shuffle(rows)
        cut = len(rows) // 5
        held += rows[:cut]
        kept += rows[cut:]
    train_data = TrainingData(training_examples=kept, entity_synonyms=data.entity_synonyms,
                              regex_features=data.regex_features, lookup_tables=data.lookup_tables)
    return train_data, held


def spans(entities: List[Dict[str, object]]) -> Set[Span]:
    return {(str(e["entity"]), int(e["start"]), int(e["end"])) for e in entities or []
            if e.get("extractor") in (None, "EntityDIET", "DIETClassifier")}


def score(model: str, held: List[object]) -> Dict[str, Counter]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    counts: Dict[str, Counter] = defaultdict(Counter)  # entity -> tp, fp, fn
    for message in held:
        parsed = asyncio.run(agent.parse_message(message.get("text")))
        gold, found = spans(message.get("entities")), spans(parsed.get("entities"))
        for entity, *_ in gold & found:
            counts[entity]["tp"] += 1
        for entity, *_ in found - gold:
            counts[entity]["fp"] += 1
        for entity, *_ in gold - found:
            counts[entity]["fn"] += 1
    return counts


def f1(c: Counter) -> float:
    return 2 * c["tp"] / (2 * c["tp"] + c["fp"] + c["fn"]) if c["tp"] else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--name", default="nlu-entities")
    args = parser.parse_args()
    be_nice()
    machine = machine_line()
    train_data, held = split(args.seed)
    TMP.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="nlu-entities-", dir=TMP) as tmp:
        work = Path(tmp)
        data_file = work / "train.yml"
        data_file.write_text(train_data.nlu_as_yaml(), encoding="utf-8")
        shipped = work / "config-shipped.yml"
        nlu_config(ROOT / "config.yml", "shipped", shipped)
        stock = work / "config-stock.yml"
        text = shipped.read_text(encoding="utf-8")
        for ours, theirs in STOCK.items():
            text = text.replace(ours, theirs)
        stock.write_text(text, encoding="utf-8")
        for label, config in (("config.yml (featurizers on DIET's subset)", shipped),
                              ("stock featurizers over every example", stock)):
            print(f"[entities] training {label}", file=sys.stderr)
            trained = train(label, config, data_file, work, config.stem, len(train_data.intent_examples))
            results[label] = (trained, score(trained.model, held))
    entities = sorted({e for _, counts in results.values() for e in counts})
    rows = []
    for label, (trained, counts) in results.items():
        total = sum(counts.values(), Counter())
        rows.append([label, f"{f1(total):.3f}", *[f"{f1(counts[e]):.3f}" for e in entities],
                     f"{trained.wall_s:.0f} s", f"{trained.cpu_s:.0f} s"])
    gold = Counter(e for m in held for e, *_ in spans(m.get("entities")))
    lines = ["# Entities on the bot's own data: featurizers on DIET's subset vs stock", "", machine, "",
             f"data/nlu split per intent (seed {args.seed}): {len(train_data.intent_examples)} training examples "
             f"({sum(1 for m in train_data.intent_examples if m.get('entities'))} with entities), {len(held)} held out "
             f"with {sum(gold.values())} entities ({', '.join(f'{e} {n}' for e, n in sorted(gold.items()))}). "
             "Micro-F1 of exact (type, start, end) matches of DIET's entities.", ""]
    lines += table(["pipeline", "micro-F1", *entities, "training wall", "training CPU"], rows)
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/nlu_entities.py', *sys.argv[1:]])}`"]
    write_report(args.name, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

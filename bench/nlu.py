"""Understanding: Majlis' NLU pipeline against a linear reference and Rasa's default pipeline.

Three systems are trained, in one run, on the same seeded sample of real intent data
and tested on the published test sets:

- English: Banking77 (PolyAI, CC BY 4.0) train → test (3,080);
- Arabic: ArBanking77 (SinaLab, CC BY-SA 4.0) train (MSA + Palestinian) → MSA test
  (3,574) and Palestinian test (3,807);
- by default one bilingual model ("both") scored on all three test sets, as shipped.

Systems: Majlis (``config.yml``, or ``--majlis-config``), the linear reference
(``bench/nlu_reference.py``: char 2-5-gram TF-IDF + logistic regression, the floor), and
Rasa's default pipeline (``rasa init``'s config, ``bench/config.rasa-default.yml``).

Protocol (printed beside the results): ``--sizes`` training examples per intent and
language (seeded samples; 0 = all, 31,562 examples for "both"); Majlis as shipped;
the default pipeline with ``--epochs`` DIET epochs (reduced: 20 instead of 100) and
only at ``--default-sizes`` (10 and 20: on all examples it takes about 7 hours on 2
cores, bench/data/SOURCES.md). Full test sets unless ``--test-per-intent`` samples them.

Measures per test set: *served* accuracy (the intent the assistant acts on: the
FallbackClassifier's ``nlu_fallback`` counts as not understood), *top-1* accuracy (the
best real intent), macro-F1 of top-1, the fallback rate and the wrong-answer rate
(served, but not the right intent).  The reference has no fallback: it always answers,
so its served accuracy is its top-1.  Rasa trains in a child process at nice 10 (wall
time, CPU time and peak RSS from ``wait4``); the reference in-process.

The default pipeline's results are reused instead of retrained when an earlier run under
``bench/results/nlu*.json`` holds them under the same *fingerprint*: a hash of its NLU
config (epochs applied), the sampled training data, the test sets, the epochs and the
Rasa version. ``--retrain-default`` trains it regardless.

Usage::

    python bench/nlu.py                 # the reported protocol (about 30 min on 2 busy cores)
    python bench/nlu.py --sizes 10 --only ar --majlis-config bench/nlu_variants/x.yml --name nlu-x
    python bench/nlu.py --quick         # smoke run: 3 per intent, 2 epochs, 3 test messages per intent
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import nlu_reference  # noqa: E402
from common import (  # noqa: E402
    DEFAULT_CONFIG, ROOT, TMP, base_env, dataset, be_nice, load_line, machine_line, pyplot, rasa_bin, table,
    write_report,
)

Example = Tuple[str, str]  # (text, intent)

ANCHORS = {
    "Banking77 test (en)": "BERT fine-tuned, full train: 93.7% accuracy (Casanueva et al., 2020)",
    "ArBanking77 MSA test": "AraBERT fine-tuned, full train: F1 0.921 (Jarrar et al., 2023)",
    "ArBanking77 Palestinian test": "AraBERT fine-tuned, full train: F1 0.900 (Jarrar et al., 2023)",
}
MAJLIS = "majlis (config.yml)"
DEFAULT = "rasa default"
REFERENCE = nlu_reference.NAME
FALLBACK = "nlu_fallback"
_MARKUP = re.compile(r"\[[^\]]*\][({]")


def _norm(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _read(path: Path, text_key: str, label_key: str, labels: Dict[str, str]) -> List[Example]:
    with open(path, encoding="utf-8") as handle:
        rows = [(row[text_key].strip(), labels[_norm(row[label_key])] if labels else row[label_key])
                for row in csv.DictReader(handle)]
    return [(text, label) for text, label in rows if text]


def load_sets() -> Tuple[Dict[str, List[Example]], Dict[str, List[Example]]]:
    """(training sets, test sets), every label a Banking77 category name."""
    english_train = _read(dataset("banking77", "train.csv"), "text", "category", {})
    categories = {_norm(label): label for _, label in english_train}
    with open(dataset("arbanking77", "Banking77_intents.csv"), encoding="utf-8") as handle:
        arabic_to_category = {row["label_ar"]: categories[_norm(row["label_en"])]
                              for row in csv.DictReader(handle)}

    def arabic(name: str) -> List[Example]:
        with open(dataset("arbanking77", name), encoding="utf-8") as handle:
            return [(row["text"].strip(), arabic_to_category[row["label"]])
                    for row in csv.DictReader(handle) if row["text"].strip()]

    train = {"en": english_train, "ar": arabic("Banking77_Arabized_MSA_PAL_train.csv")}
    tests = {
        "Banking77 test (en)": _read(dataset("banking77", "test.csv"), "text", "category", {}),
        "ArBanking77 MSA test": arabic("Banking77_Arabized_MSA_test.csv"),
        "ArBanking77 Palestinian test": arabic("Banking77_Arabized_PAL_test.csv"),
    }
    return train, tests


def per_intent_sample(rows: Sequence[Example], n: int, seed: int) -> List[Example]:
    """``n`` examples of every intent (all of them when n is 0), seeded; order kept stable."""
    if n <= 0:
        return list(rows)
    by_intent: Dict[str, List[Example]] = defaultdict(list)
    for row in rows:
        by_intent[row[1]].append(row)
    rng = random.Random(seed)
    picked: List[Example] = []
    for intent in sorted(by_intent):
        examples = sorted(set(by_intent[intent]))
        picked += rng.sample(examples, min(n, len(examples)))
    return picked


def write_nlu_yaml(rows: Sequence[Example], path: Path) -> None:
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for text, intent in rows:
        text = " ".join(text.split())
        if _MARKUP.search(text):  # would be read as entity markup
            text = text.replace("[", "(").replace("]", ")")
        by_intent[intent].append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in dict.fromkeys(by_intent[intent])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def nlu_config(source: Path, epochs: str, target: Path) -> None:
    """The pipeline of ``source`` without its policies; DIET's epochs set unless ``shipped``."""
    import yaml

    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config.pop("policies", None)
    for component in config["pipeline"]:
        if component["name"] in ("DIETClassifier", "ResponseSelector") and epochs != "shipped":
            component["epochs"] = int(epochs)
    target.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def majlis_label(config: Path) -> str:
    """``majlis (config.yml)`` for the shipped pipeline, ``majlis (<path>)`` for a variant."""
    config = config.resolve()
    if config == (ROOT / "config.yml").resolve():
        return MAJLIS
    try:
        return f"majlis ({config.relative_to(ROOT)})"
    except ValueError:
        return f"majlis ({config})"


def is_majlis(pipeline: str) -> bool:
    return pipeline.startswith("majlis")


def default_fingerprint(config_text: str, train_yaml: str, tests: Dict[str, List[Example]], epochs: str) -> str:
    """What the default pipeline's results depend on: its NLU config (epochs applied), the
    sampled training data, the test sets it is scored on, the epochs and the Rasa version."""
    import rasa

    digest = hashlib.sha256()
    for part in (config_text, train_yaml, json.dumps(sorted(tests.items()), ensure_ascii=False), str(epochs),
                 rasa.__version__):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def find_cached_default(fingerprint: str, data: str,
                        size: int) -> Optional[Tuple[Path, Dict[str, object], List[Dict[str, object]]]]:
    """(file, training entry, evaluated entries) of an earlier run of the default pipeline with this fingerprint."""
    for path in sorted(common.RESULTS.glob("nlu*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in saved.get("trained", []):
            if entry.get("pipeline") == DEFAULT and entry.get("fingerprint") == fingerprint:
                evaluated = [e for e in saved.get("evaluated", []) if e.get("pipeline") == DEFAULT
                             and e.get("trained_on") == data and e.get("per_intent") == size
                             and e.get("fingerprint") == fingerprint and "served" in e]
                if evaluated:
                    return path, entry, evaluated
    return None


@dataclass
class TrainResult:
    pipeline: str
    data: str
    examples: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    model: str
    per_intent: int = 0
    fingerprint: Optional[str] = None  # the default pipeline's, see default_fingerprint()
    reused_from: Optional[str] = None  # results file the default's results were taken from
    predict_s: Optional[float] = None  # CPU time of the test messages (model loading excluded)
    predicted: int = 0
    load_mean: Optional[float] = None  # 1-minute load average sampled during training: mean and max
    load_max: Optional[float] = None


class DeadlineReached(RuntimeError):
    """A training was stopped at ``--deadline``: what it had cost until then."""

    def __init__(self, name: str, wall_s: float, cpu_s: float, load_mean: float) -> None:
        super().__init__(f"{name} stopped at the deadline after {wall_s:.0f} s")
        self.wall_s, self.cpu_s, self.load_mean = wall_s, cpu_s, load_mean


def train(pipeline: str, config: Path, data: Path, out: Path, name: str, examples: int,
          deadline: Optional[float] = None) -> TrainResult:
    """``rasa train nlu`` in a child process; stopped (DeadlineReached) if still running at ``deadline``
    (epoch seconds). The 1-minute load average is sampled every 5 s while it trains."""
    log = open(out / f"{name}.log", "w")
    start = time.perf_counter()
    process = subprocess.Popen(
        [rasa_bin(), "train", "nlu", "--config", str(config), "--nlu", str(data), "--out", str(out),
         "--fixed-model-name", name],
        # No training cache: it would make training times depend on earlier runs, and Rasa fingerprints
        # a component's output from the message data, so it cannot tell apart pipelines whose components
        # change token lemmas in place (ArabicNormalizer with and without: same downstream cache keys).
        cwd=ROOT, env=base_env(RASA_MAX_CACHE_SIZE="0"), stdout=log, stderr=subprocess.STDOUT)
    loads: List[float] = []
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        loads.append(os.getloadavg()[0])
        if deadline is not None and time.time() >= deadline:
            process.terminate()
            _, status, usage = os.wait4(process.pid, 0)
            log.close()
            raise DeadlineReached(name, time.perf_counter() - start, usage.ru_utime + usage.ru_stime,
                                  sum(loads) / len(loads))
        time.sleep(5)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    model = out / f"{name}.tar.gz"
    if process.returncode != 0 or not model.exists():
        raise RuntimeError(f"training {name} failed; see {out / (name + '.log')}")
    loads = loads or [os.getloadavg()[0]]
    return TrainResult(pipeline, name, examples, wall, usage.ru_utime + usage.ru_stime,
                       usage.ru_maxrss / 1024, str(model), load_mean=sum(loads) / len(loads), load_max=max(loads))


def predict_main(model: str, texts_file: str, out_file: str) -> int:
    """Child-process mode: for every text, the top real intent, its confidence and the final intent.

    ``texts_file`` holds ``{test set: [text, ...]}``; the model is loaded once for all of them and
    messages go through the graph in batches of 256, as ``rasa test nlu`` would one by one.
    """
    import logging

    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
    from rasa.shared.core.trackers import DialogueStateTracker

    sets = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    agent = Agent.load(model)
    processor = agent.processor
    target = processor.model_metadata.nlu_target
    results: Dict[str, object] = {}
    started = time.process_time()
    for name, texts in sets.items():
        results[name] = []
        for start in range(0, len(texts), 256):
            messages = [UserMessage(text=text, sender_id="bench") for text in texts[start:start + 256]]
            tracker = DialogueStateTracker("bench", [])
            output = processor.graph_runner.run(inputs={PLACEHOLDER_MESSAGE: messages, PLACEHOLDER_TRACKER: tracker},
                                                targets=[target])[target]
            for message in output:
                ranking = [r for r in (message.get("intent_ranking") or []) if r.get("name") != FALLBACK]
                final = (message.get("intent") or {}).get("name")
                top = ranking[0] if ranking else (message.get("intent") or {})
                results[name].append({"top": top.get("name"), "confidence": float(top.get("confidence") or 0.0),
                                      "final": final})
    results["__cpu_s__"] = time.process_time() - started
    Path(out_file).write_text(json.dumps(results), encoding="utf-8")
    return 0


def predict(model: str, sets: Dict[str, List[str]], work: Path) -> Dict[str, object]:
    stem = Path(model).name.split(".")[0]  # one pair of files per model: predictions may run side by side
    texts_file, out_file = work / f"texts-{stem}.json", work / f"predictions-{stem}.json"
    texts_file.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, __file__, "--predict", model, str(texts_file), str(out_file)],
                   cwd=ROOT, env=base_env(), check=True)
    return json.loads(out_file.read_text(encoding="utf-8"))


def evaluate(gold: List[str], predictions: List[Dict[str, object]]) -> Dict[str, float]:
    """Served and top-1 accuracy, macro-F1 (top-1), fallback and wrong-answer rates."""
    from sklearn.metrics import f1_score

    n = len(gold)
    top = [str(p["top"]) for p in predictions]
    final = [str(p["final"]) for p in predictions]
    return {"served": sum(f == g for f, g in zip(final, gold)) / n,
            "accuracy": sum(t == g for t, g in zip(top, gold)) / n,
            "macro_f1": f1_score(gold, top, labels=sorted(set(gold)), average="macro", zero_division=0),
            "fallback": sum(f == FALLBACK for f in final) / n,
            "wrong": sum(f not in (g, FALLBACK) for f, g in zip(final, gold)) / n}


def served_at_wrong(gold: List[str], predictions: List[Dict[str, object]], max_wrong: float) -> float:
    """Best served accuracy a system reaches with a confidence threshold that keeps its
    wrong-answer rate at or below ``max_wrong`` (the threshold is tuned on the test set
    itself, so this flatters the system it is applied to: the reference)."""
    ranked = sorted(zip((float(p["confidence"]) for p in predictions), (p["top"] == g for p, g in zip(predictions, gold))),
                    reverse=True)
    best, right, wrong = 0.0, 0, 0
    for _, ok in ranked:  # answer the k most confident, k = 1..n
        right, wrong = right + ok, wrong + (not ok)
        if wrong / len(gold) <= max_wrong:
            best = max(best, right / len(gold))
    return best


def keep_predictions(name: str, tag: str, data: str, size: int, predictions: Dict[str, object]) -> None:
    """Saved under bench/results/tmp for paired comparisons and the fallback curves."""
    keep = TMP / "nlu-predictions" / f"{name}-{tag}-{data}-n{size}.json"
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text(json.dumps(predictions), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run (minutes): tiny sample, 2 epochs")
    parser.add_argument("--sizes", default="10,20,0", help="training examples per intent and language (0 = all)")
    parser.add_argument("--default-sizes", default="10,20",
                        help="sizes at which Rasa's default pipeline is trained too ('' = never)")
    parser.add_argument("--epochs", default="20", help="DIET epochs of the default pipeline, or 'shipped' (100)")
    parser.add_argument("--test-per-intent", type=int, default=0, help="stratified test sample per intent (0 = full)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", default="both", help="which training sets: en, ar, both")
    parser.add_argument("--name", default="nlu", help="report name under bench/results/")
    parser.add_argument("--majlis-config", type=Path, default=ROOT / "config.yml",
                        help="the Majlis pipeline to evaluate (default: config.yml; e.g. bench/nlu_variants/*.yml)")
    parser.add_argument("--retrain-default", action="store_true",
                        help="train the default pipeline even if results with the same fingerprint exist")
    parser.add_argument("--rescore-threshold", type=float, default=None,
                        help="re-apply a FallbackClassifier threshold (ambiguity 0) to the kept predictions of the "
                             "run --name, without retraining: the model and its confidences do not depend on it")
    parser.add_argument("--jobs", type=int, default=1,
                        help="Rasa trainings run side by side (each in its own child process, CPU time measured "
                             "alone): on a busy machine a run then finishes sooner, wall times inflate")
    parser.add_argument("--deadline", default="", metavar="HH:MM",
                        help="UTC time (today) at which a training still running is stopped and reported as "
                             "unfinished, and after which none is started")
    parser.add_argument("--predict", nargs=3, metavar=("MODEL", "TEXTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.predict:
        return predict_main(*args.predict)
    if args.rescore_threshold is not None:
        return rescore(args)
    if args.quick:
        args.sizes, args.default_sizes, args.epochs, args.test_per_intent = "3", "3", "2", 3
        args.name = "nlu-quick" if args.name == "nlu" else args.name
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    default_sizes = {int(x) for x in args.default_sizes.split(",") if x.strip()}
    be_nice()
    machine = machine_line()
    train_sets, test_sets = load_sets()
    if args.test_per_intent:
        test_sets = {k: per_intent_sample(v, args.test_per_intent, args.seed) for k, v in test_sets.items()}
    tests_for = {"en": ["Banking77 test (en)"], "ar": ["ArBanking77 MSA test", "ArBanking77 Palestinian test"],
                 "both": list(test_sets)}
    wanted = [d for d in args.only.split(",") if d in tests_for]
    majlis_source = args.majlis_config if args.majlis_config.is_absolute() else (Path.cwd() / args.majlis_config)
    if not majlis_source.exists():
        parser.error(f"--majlis-config {args.majlis_config}: no such file")
    deadline = None
    if args.deadline:
        from datetime import datetime, timezone

        hour, minute = (int(x) for x in args.deadline.split(":"))
        deadline = datetime.now(timezone.utc).replace(hour=hour, minute=minute, second=0, microsecond=0).timestamp()
    TMP.mkdir(parents=True, exist_ok=True)
    trained: List[TrainResult] = []
    evaluated: List[Dict[str, object]] = []
    not_run: List[str] = []
    sizes_of = {k: len(v) for k, v in test_sets.items()}

    lock = threading.RLock()  # --jobs: trainings finish in worker threads; results are recorded one at a time

    def progress(final: bool = False) -> None:
        """The report so far: a run stopped (or killed) midway still leaves what it measured."""
        with lock:
            report(args, machine, trained, evaluated, sizes_of, majlis_config=majlis_source, not_run=not_run,
                   partial=not final)

    with tempfile.TemporaryDirectory(prefix="nlu-", dir=TMP) as tmp:
        work = Path(tmp)
        prepared: Dict[Tuple[int, str], Tuple[List[Example], Dict[str, List[str]], Path]] = {}
        for size in sizes:
            samples = {lang: per_intent_sample(rows, size, args.seed) for lang, rows in train_sets.items()}
            data_sets = {"en": samples["en"], "ar": samples["ar"], "both": samples["en"] + samples["ar"]}
            for data in wanted:
                train_file = work / f"train-{data}-n{size}.yml"
                write_nlu_yaml(data_sets[data], train_file)
                prepared[(size, data)] = (data_sets[data], {t: [text for text, _ in test_sets[t]]
                                                            for t in tests_for[data]}, train_file)
        references: Dict[Tuple[int, str], Dict[str, object]] = {}
        ours: Dict[Tuple[int, str], Dict[str, object]] = {}  # Majlis' predictions

        def record(system: str, size: int, data: str, predictions: Dict[str, object],
                   fingerprint: Optional[str] = None) -> None:
            with lock:
                _record(system, size, data, predictions, fingerprint)

        def _record(system: str, size: int, data: str, predictions: Dict[str, object],
                    fingerprint: Optional[str]) -> None:
            for test in tests_for[data]:
                gold = [label for _, label in test_sets[test]]
                scores = evaluate(gold, predictions[test])
                evaluated.append({"test": test, "pipeline": system, "trained_on": data, "per_intent": size,
                                  "n": len(test_sets[test]), **scores, "fingerprint": fingerprint})
                print(f"[nlu] {system} / {data} n={size} on {test}: served {scores['served']:.3f} "
                      f"top-1 {scores['accuracy']:.3f}", file=sys.stderr)
            if is_majlis(system):
                ours[(size, data)] = predictions
            # Majlis against the reference at the same wrong-answer rate, whichever of the two finished last.
            if (size, data) in ours and (size, data) in references:
                for item in evaluated:
                    if is_majlis(str(item["pipeline"])) and (item["per_intent"], item["trained_on"]) == (size, data):
                        gold = [label for _, label in test_sets[item["test"]]]
                        item["reference_at_same_wrong"] = served_at_wrong(
                            gold, references[(size, data)][item["test"]], item["wrong"])

        def run_rasa(pipeline: str, source: Path, size: int, data: str) -> None:
            """Trains, scores and records ``pipeline`` (the default's results reused when cached)."""
            rows, texts, train_file = prepared[(size, data)]
            tag = "majlis" if is_majlis(pipeline) else "default"
            config = work / f"config-{tag}-{data}-n{size}.yml"
            nlu_config(source, args.epochs if pipeline == DEFAULT else "shipped", config)
            fingerprint = None
            if pipeline == DEFAULT:
                fingerprint = default_fingerprint(config.read_text(encoding="utf-8"),
                                                  train_file.read_text(encoding="utf-8"),
                                                  {t: test_sets[t] for t in tests_for[data]}, args.epochs)
                reused = None if args.retrain_default else reuse_default(fingerprint, data, size)
                if reused:
                    with lock:
                        trained.append(reused[0])
                        evaluated.extend(reused[1])
                    progress()
                    return
            if deadline is not None and time.time() >= deadline:
                not_run.append(f"{pipeline} on {data}, {_size(size)} per intent: not started, the run's deadline "
                               f"({args.deadline} UTC) had passed")
                return
            print(f"[nlu] training {pipeline} on {data}, {size or 'all'} per intent ({len(rows)} examples)",
                  file=sys.stderr)
            try:
                result = train(pipeline, config, train_file, work, f"{tag}-{data}-n{size}", len(rows), deadline)
            except DeadlineReached as stopped:
                not_run.append(f"{pipeline} on {data}, {_size(size)} per intent ({len(rows)} examples): training "
                               f"stopped unfinished at the run's deadline ({args.deadline} UTC) after "
                               f"{stopped.wall_s / 60:.0f} min wall, {stopped.cpu_s / 60:.0f} min CPU "
                               f"(mean load {stopped.load_mean:.1f})")
                return
            result.per_intent, result.fingerprint = size, fingerprint
            trained.append(result)
            predictions = predict(result.model, texts, work)
            result.predict_s = float(predictions.pop("__cpu_s__", 0.0))
            result.predicted = sum(map(len, texts.values()))
            keep_predictions(args.name, tag, data, size, predictions)
            Path(result.model).unlink(missing_ok=True)  # up to 1 GB each; the predictions are kept
            record(pipeline, size, data, predictions, fingerprint)
            progress()

        # Majlis and the reference at every size (in --sizes order), then Rasa's default from the smallest
        # size up: on all examples it may not finish before the deadline and must not hold back the others.
        # With --jobs N, up to N Rasa trainings run side by side (each its own child process, whose CPU
        # time is measured alone); the reference fits in this process meanwhile.
        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            futures = [pool.submit(run_rasa, majlis_label(majlis_source), majlis_source, size, data)
                       for size in sizes for data in wanted]
            futures += [pool.submit(run_rasa, DEFAULT, DEFAULT_CONFIG, size, data)
                        for size in sorted((s for s in sizes if s in default_sizes), key=lambda s: s or 10**9)
                        for data in wanted]
            for size, data in sorted(prepared, key=lambda key: key[0] or 10**9):  # cheapest first
                rows, texts, _ = prepared[(size, data)]
                if deadline is not None and time.time() >= deadline:
                    with lock:
                        not_run.append(f"{REFERENCE} on {data}, {_size(size)} per intent: not started, the run's "
                                       f"deadline ({args.deadline} UTC) had passed")
                    continue
                load_before = os.getloadavg()[0]
                predictions, timing = nlu_reference.fit_predict(rows, texts)
                load_after = os.getloadavg()[0]
                with lock:
                    references[(size, data)] = predictions
                    trained.append(TrainResult(REFERENCE, f"reference-{data}", len(rows), timing["wall_s"],
                                               timing["cpu_s"], 0.0, "", per_intent=size,
                                               predict_s=timing["predict_s"],
                                               predicted=sum(map(len, texts.values())),
                                               load_mean=(load_before + load_after) / 2,
                                               load_max=max(load_before, load_after)))
                keep_predictions(args.name, "reference", data, size, predictions)
                record(REFERENCE, size, data, predictions)
                progress()
            for future in futures:
                future.result()
    progress(final=True)
    return 0


def rescore(args: argparse.Namespace) -> int:
    """Majlis' rows of run ``args.name`` again, with the fallback threshold ``args.rescore_threshold``
    applied to its kept predictions (top intent and its confidence), as the FallbackClassifier would."""
    saved = json.loads((common.RESULTS / f"{args.name}.json").read_text(encoding="utf-8"))
    protocol = saved["protocol"]
    machine = (common.RESULTS / f"{args.name}.md").read_text(encoding="utf-8").splitlines()[2]
    _, test_sets = load_sets()
    if protocol["test_per_intent"]:
        test_sets = {k: per_intent_sample(v, protocol["test_per_intent"], protocol["seed"]) for k, v in test_sets.items()}
    evaluated = []
    for item in saved["evaluated"]:
        if is_majlis(str(item["pipeline"])):
            tag = f"{item['trained_on']}-n{item['per_intent']}"
            kept = TMP / "nlu-predictions"
            ours = json.loads((kept / f"{args.name}-majlis-{tag}.json").read_text(encoding="utf-8"))[item["test"]]
            ref = json.loads((kept / f"{args.name}-reference-{tag}.json").read_text(encoding="utf-8"))[item["test"]]
            for p in ours:
                p["final"] = p["top"] if float(p["confidence"]) >= args.rescore_threshold else FALLBACK
            gold = [label for _, label in test_sets[item["test"]]]
            scores = evaluate(gold, ours)
            scores["reference_at_same_wrong"] = served_at_wrong(gold, ref, scores["wrong"])
            item = {**item, **scores, "rescored_threshold": args.rescore_threshold}
        evaluated.append(item)
    trained = [TrainResult(**t) for t in saved["trained"]]
    for key in ("sizes", "default_sizes", "epochs", "seed", "test_per_intent", "quick"):
        setattr(args, key, protocol[key])
    config = ROOT / protocol.get("majlis_config", "config.yml")
    report(args, machine, trained, evaluated, {k: len(v) for k, v in test_sets.items()}, majlis_config=config)
    return 0


def reuse_default(fingerprint: str, data: str, size: int) -> Optional[Tuple[TrainResult, List[Dict[str, object]]]]:
    """The default pipeline's results on ``data`` at ``size`` from an earlier run with the same fingerprint."""
    found = find_cached_default(fingerprint, data, size)
    if not found:
        return None
    path, entry, evaluated = found
    shown = str(path.resolve().relative_to(ROOT)) if path.resolve().is_relative_to(ROOT) else str(path)
    print(f"[nlu] rasa default on {data} n={size}: reusing the results in {shown} (fingerprint matches)",
          file=sys.stderr)
    fields = {k: entry[k] for k in ("pipeline", "data", "examples", "wall_s", "cpu_s", "peak_rss_mb", "model")}
    result = TrainResult(**fields, per_intent=size, fingerprint=fingerprint, reused_from=shown,
                         predict_s=entry.get("predict_s"), predicted=entry.get("predicted", 0))
    return result, [{**e, "reused_from": shown} for e in evaluated]


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _size(size: int) -> str:
    return "all" if size <= 0 else str(size)


def report(args: argparse.Namespace, machine: str, trained: List[TrainResult], evaluated: List[Dict[str, object]],
           test_sizes: Dict[str, int], majlis_config: Optional[Path] = None, not_run: Sequence[str] = (),
           partial: bool = False) -> None:
    epochs = ("100 (shipped)" if args.epochs == "shipped" else f"{args.epochs} (reduced protocol; shipped: 100)")
    tests = "full test sets" if not args.test_per_intent else f"{args.test_per_intent} per intent (seed {args.seed})"
    title = "# Understanding: Majlis vs the linear reference vs Rasa's default pipeline"
    if args.quick:
        title += " (QUICK SMOKE RUN: not a result)"
    if partial:
        title += " (RUN IN PROGRESS: partial)"
    lines = [title, "", machine, "",
             f"Protocol: training examples per intent and language: {', '.join(_size(int(s)) for s in args.sizes.split(','))} "
             f"(seeded samples, seed {args.seed}); Majlis as shipped; linear reference: {nlu_reference.SETTINGS}; "
             f"Rasa default pipeline (`rasa init`, bench/config.rasa-default.yml) only at "
             f"{args.default_sizes or 'no size'} per intent, DIET epochs {epochs}: on all 31,562 examples it takes "
             f"about 7 hours on 2 cores. Tests: {tests} ({', '.join(f'{k} n={v}' for k, v in test_sizes.items())}).", "",
             "*served* = the intent the assistant acts on is right (`nlu_fallback` counts as not understood); "
             "*top-1* = the best real intent is right; macro-F1 of top-1; *fallback* = answered `nlu_fallback`; "
             "*wrong* = answered with a wrong intent. The reference has no fallback: it always answers, so its "
             "served accuracy is its top-1.", ""]
    majlis = next((str(e["pipeline"]) for e in evaluated if is_majlis(str(e["pipeline"]))), MAJLIS)
    if majlis != MAJLIS:
        lines += [f"Majlis pipeline under test: `{majlis[len('majlis ('):-1]}` (not config.yml).", ""]
    rescored = {e.get("rescored_threshold") for e in evaluated} - {None}
    if rescored:
        lines += [f"Majlis' fallback threshold re-applied to the kept predictions of this run: {rescored.pop():g} "
                  "(ambiguity 0; `--rescore-threshold`: same trained models and confidences, the FallbackClassifier's "
                  "decision recomputed; training and inference figures are those of the run).", ""]
    for t in (t for t in trained if t.reused_from):
        lines += [f"Rasa default on *{t.data}*: not retrained; results and training cost reused from "
                  f"`{t.reused_from}` (fingerprint of config, sampled data, tests, epochs and Rasa version matches).", ""]
    order = {REFERENCE: 1, DEFAULT: 2}
    rows = []
    for item in sorted(evaluated, key=lambda e: (e["trained_on"], e.get("per_intent") or 10**6,
                                                 list(test_sizes).index(e["test"]), order.get(e["pipeline"], 0))):
        rows.append([item["test"], item["trained_on"], _size(item.get("per_intent", 0)), item["pipeline"], item["n"],
                     _pct(item["served"]), _pct(item["accuracy"]), f"{item['macro_f1']:.3f}", _pct(item["fallback"]),
                     _pct(item["wrong"])])
    lines += table(["test set", "trained on", "per intent", "system", "n", "served", "top-1", "macro-F1", "fallback",
                    "wrong"], rows)
    lines += ["", "Majlis − linear reference, points: served (the reference always answers, so against its top-1); "
              "top-1; and served when the reference too may only answer as wrongly as Majlis did (its best "
              "confidence threshold with at most Majlis' wrong-answer rate, tuned on the test set: flatters the "
              "reference):", ""]
    diff_rows = []
    for item in evaluated:
        if not is_majlis(str(item["pipeline"])):
            continue
        ref = [e for e in evaluated if e["pipeline"] == REFERENCE and e["test"] == item["test"]
               and e["trained_on"] == item["trained_on"] and e.get("per_intent") == item.get("per_intent")]
        if ref:
            same = item.get("reference_at_same_wrong")
            diff_rows.append([item["test"], item["trained_on"], _size(item.get("per_intent", 0)),
                              f"{100 * (item['served'] - ref[0]['served']):+.1f}",
                              f"{100 * (item['accuracy'] - ref[0]['accuracy']):+.1f}",
                              f"{_pct(item['wrong'])}", f"{100 * (item['served'] - same):+.1f}" if same is not None
                              else "n/a"])
    lines += table(["test set", "trained on", "per intent", "Δ served", "Δ top-1", "Majlis wrong",
                    "Δ served at the same wrong-answer rate"], diff_rows)
    lines += ["", f"Training cost (Rasa: child process `rasa train nlu` at nice {os.nice(0)}; reference: in-process "
              "fit of vectorizer and model):", ""]
    lines += table(["system", "trained on", "per intent", "examples", "wall time", "CPU time", "load during (mean / max)",
                    "peak RSS", "inference CPU / message"],
                   [[t.pipeline, t.data.split("-")[1] if "-" in t.data else t.data, _size(t.per_intent), t.examples,
                     f"{t.wall_s:.0f} s ({t.wall_s / 60:.1f} min)", f"{t.cpu_s:.0f} s ({t.cpu_s / 60:.1f} min)",
                     f"{t.load_mean:.1f} / {t.load_max:.1f}" if t.load_mean is not None else "n/a",
                     f"{t.peak_rss_mb:.0f} MB" if t.peak_rss_mb else "n/a",
                     f"{1000 * t.predict_s / t.predicted:.2f} ms" if t.predict_s and t.predicted else "n/a"]
                    for t in trained])
    lines += ["", "Load during: the 1-minute load average sampled every 5 s while Rasa trained (the reference: at its "
              "start and end); CPU time is what the training itself used, wall time also counts the waiting for the "
              "2 cores. Inference CPU / message: CPU time of the test messages through the trained graph (Rasa, in "
              "batches of 256, model loading excluded) or vectorizer + model (reference)."]
    if not_run:
        lines += ["", "Not run or not finished in this run:", ""] + [f"- {item}" for item in not_run]
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/nlu.py', *sys.argv[1:]])}`"]
    # While the run goes on, the report so far is written beside the last complete one (not over it);
    # bench/results/nlu*.json still finds it, so a run stopped midway never trains the default twice.
    name = f"{args.name}-partial" if partial else args.name
    write_report(name, lines)
    protocol = {"sizes": args.sizes, "default_sizes": args.default_sizes, "epochs": args.epochs, "seed": args.seed,
                "test_per_intent": args.test_per_intent, "quick": args.quick, "not_run": list(not_run),
                "partial": partial}
    if majlis_config is not None:
        protocol["majlis_config"] = majlis_label(majlis_config)[len("majlis ("):-1]
        protocol["majlis_config_text"] = majlis_config.read_text(encoding="utf-8")
    (common.RESULTS / f"{name}.json").write_text(json.dumps({"protocol": protocol,
                                                          "trained": [asdict(t) for t in trained],
                                                          "evaluated": evaluated}, indent=1), encoding="utf-8")
    plot(name, evaluated, title.lstrip("# "))
    if not partial:
        for suffix in (".md", ".json", ".png"):
            (common.RESULTS / f"{args.name}-partial{suffix}").unlink(missing_ok=True)


def plot(name: str, evaluated: List[Dict[str, object]], title: str) -> None:
    """Served accuracy per test set and training size, one bar per system."""
    plt = pyplot()
    labels = sorted({(e["test"], e["trained_on"], e.get("per_intent", 0)) for e in evaluated},
                    key=lambda k: (k[1], k[2] or 10**6, k[0]))
    systems = list(dict.fromkeys(str(e["pipeline"]) for e in evaluated))
    systems.sort(key=lambda p: {REFERENCE: 1, DEFAULT: 2}.get(p, 0))
    colors = ["#2a7f62", "#d08c2b", "#999999", "#5577aa"]
    fig, ax = plt.subplots(figsize=(12, 4.8))
    width = 0.8 / max(len(systems), 1)
    for index, system in enumerate(systems):
        values = []
        for test, data, size in labels:
            match = [e for e in evaluated if (e["test"], e["trained_on"], e.get("per_intent", 0)) == (test, data, size)
                     and e["pipeline"] == system]
            values.append(100 * match[0]["served"] if match else 0)
        bars = ax.bar([i - 0.4 + width * (index + 0.5) for i in range(len(labels))], values, width, label=system,
                      color=colors[index % len(colors)])
        ax.bar_label(bars, fmt="%.0f", fontsize=6)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([f"{t.replace('ArBanking77 ', 'Ar ').replace(' test', '')}\n{d}, {_size(s)}/intent"
                        for t, d, s in labels], fontsize=7)
    ax.set_ylabel("served accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(common.RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

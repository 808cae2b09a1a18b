"""Understanding: Majlis' NLU pipeline (config.yml) against Rasa's default pipeline.

Both pipelines are trained, in one run, on the same seeded sample of real intent data
and tested on the published test sets:

- English: Banking77 (PolyAI, CC BY 4.0) train → test (3,080);
- Arabic: ArBanking77 (SinaLab, CC BY-SA 4.0) train (MSA + Palestinian) → MSA test
  (3,574) and Palestinian test (3,807);
- both languages in one model → all three test sets.

The CSVs are converted to Rasa NLU YAML in a temporary directory at run time; the
Arabic labels are mapped to the Banking77 category names (Banking77_intents.csv), so
"both" has one 77-intent label space.

Protocol (printed beside the results): ``--per-intent N`` training examples per
intent (seeded sample; 0 = all), the same ``--epochs`` for DIET in both pipelines
(``shipped`` = each pipeline's own: Majlis 50, Rasa default 100), every other
setting as shipped, full test sets unless ``--test-per-intent`` samples them.
Accuracy and macro-F1 are of the classifier's top intent (``nlu_fallback`` is not a
Banking77 label, so the FallbackClassifier is set aside and the share of test messages
it would have sent to fallback is reported next to it).  Training runs in a child
process at nice 10; its wall time, CPU time and peak RSS come from ``wait4``.

The default pipeline's results are reused instead of retrained when an earlier run under
``bench/results/nlu*.json`` holds them under the same *fingerprint*: a hash of the default
pipeline's NLU config (epochs applied), the sampled training data, the test sets, the
epochs and the Rasa version.  ``--reuse-default FILE`` also accepts results written
before fingerprints were recorded: they are then trusted as given, and the report says so.
``--retrain-default`` trains it regardless.  ``--majlis-config PATH`` evaluates another
Majlis pipeline (e.g. one of ``bench/nlu_variants/``) without editing ``config.yml``.

Usage::

    python bench/nlu.py                 # the reported protocol (about 35 min on 2 busy cores)
    python bench/nlu.py --only ar --majlis-config bench/nlu_variants/no-normalizer.yml --name nlu-no-normalizer
    python bench/nlu.py --reuse-default bench/results/nlu.json   # results of a run without fingerprints
    python bench/nlu.py --quick         # smoke run: 3 per intent, 2 epochs, 3 test messages per intent
    python bench/nlu.py --per-intent 0 --epochs shipped     # everything: hours with the default pipeline
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
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
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
PIPELINES = {MAJLIS: ROOT / "config.yml", DEFAULT: DEFAULT_CONFIG}
SHIPPED_EPOCHS = {MAJLIS: "50", DEFAULT: "100"}
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


def find_cached_default(fingerprint: str, data: str) -> Optional[Tuple[Path, Dict[str, object], List[Dict[str, object]]]]:
    """(file, training entry, evaluated entries) of an earlier run of the default pipeline with this fingerprint."""
    for path in sorted(common.RESULTS.glob("nlu*.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for entry in saved.get("trained", []):
            if entry.get("pipeline") == DEFAULT and entry.get("fingerprint") == fingerprint:
                evaluated = [e for e in saved.get("evaluated", []) if e.get("pipeline") == DEFAULT
                             and e.get("trained_on") == data and e.get("fingerprint") == fingerprint]
                if evaluated:
                    return path, entry, evaluated
    return None


def trusted_default(path: Path, data: str, fingerprint: str,
                    tests: Sequence[str]) -> Optional[Tuple[Dict[str, object], List[Dict[str, object]]]]:
    """The default pipeline's results on ``data`` from ``path`` (``--reuse-default``).

    Entries with a fingerprint must match it (else this fails: the protocol changed); entries
    without one (runs before fingerprints were recorded) are trusted as given."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    entries = [t for t in saved.get("trained", []) if t.get("pipeline") == DEFAULT
               and t.get("data", "").split("-", 1)[-1] == data]
    evaluated = [e for e in saved.get("evaluated", []) if e.get("pipeline") == DEFAULT and e.get("trained_on") == data]
    if not entries or {e["test"] for e in evaluated} != set(tests):
        return None
    if entries[0].get("fingerprint") not in (None, fingerprint):
        raise SystemExit(f"--reuse-default {path}: its default results on '{data}' were made with another protocol "
                         f"(fingerprint {entries[0]['fingerprint']}, now {fingerprint}); retrain instead")
    return entries[0], evaluated


@dataclass
class TrainResult:
    pipeline: str
    data: str
    examples: int
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    model: str
    fingerprint: Optional[str] = None  # the default pipeline's, see default_fingerprint()
    reused_from: Optional[str] = None  # results file the default's results were taken from
    verified: bool = True  # False: reused without a fingerprint to check (--reuse-default)
    predict_s: Optional[float] = None  # graph time of the test messages (model loading excluded)
    predicted: int = 0


def train(pipeline: str, config: Path, data: Path, out: Path, name: str, examples: int) -> TrainResult:
    log = open(out / f"{name}.log", "w")
    start = time.perf_counter()
    process = subprocess.Popen(
        [rasa_bin(), "train", "nlu", "--config", str(config), "--nlu", str(data), "--out", str(out),
         "--fixed-model-name", name],
        # No training cache: it would make training times depend on earlier runs, and Rasa fingerprints
        # a component's output from the message data, so it cannot tell apart pipelines whose components
        # change token lemmas in place (ArabicNormalizer with and without: same downstream cache keys).
        cwd=ROOT, env=base_env(RASA_MAX_CACHE_SIZE="0"), stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    model = out / f"{name}.tar.gz"
    if process.returncode != 0 or not model.exists():
        raise RuntimeError(f"training {name} failed; see {out / (name + '.log')}")
    return TrainResult(pipeline, name, examples, wall, usage.ru_utime + usage.ru_stime,
                       usage.ru_maxrss / 1024, str(model))


def predict_main(model: str, texts_file: str, out_file: str) -> int:
    """Child-process mode: for every text, the top intent (fallback set aside) and the final intent.

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
                ranking = [r for r in (message.get("intent_ranking") or []) if r.get("name") != "nlu_fallback"]
                final = (message.get("intent") or {}).get("name")
                results[name].append({"top": ranking[0]["name"] if ranking else final, "final": final})
    results["__cpu_s__"] = time.process_time() - started
    Path(out_file).write_text(json.dumps(results), encoding="utf-8")
    return 0


def predict(model: str, sets: Dict[str, List[str]], work: Path) -> Dict[str, object]:
    texts_file, out_file = work / "texts.json", work / "predictions.json"
    texts_file.write_text(json.dumps(sets, ensure_ascii=False), encoding="utf-8")
    subprocess.run([sys.executable, __file__, "--predict", model, str(texts_file), str(out_file)],
                   cwd=ROOT, env=base_env(), check=True)
    return json.loads(out_file.read_text(encoding="utf-8"))


def scores(gold: List[str], predicted: List[str]) -> Tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return accuracy_score(gold, predicted), f1_score(gold, predicted, labels=sorted(set(gold)), average="macro",
                                                     zero_division=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run (minutes): tiny sample, 2 epochs")
    parser.add_argument("--per-intent", type=int, default=20, help="training examples per intent and language (0 = all)")
    parser.add_argument("--epochs", default="20", help="DIET epochs for both pipelines, or 'shipped'")
    parser.add_argument("--test-per-intent", type=int, default=0, help="stratified test sample per intent (0 = full)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", default="en,ar,both", help="which training sets: en, ar, both")
    parser.add_argument("--name", default="nlu", help="report name under bench/results/")
    parser.add_argument("--majlis-config", type=Path, default=ROOT / "config.yml",
                        help="the Majlis pipeline to evaluate (default: config.yml; e.g. bench/nlu_variants/*.yml)")
    parser.add_argument("--reuse-default", type=Path, metavar="FILE",
                        help="take the default pipeline's results from FILE (an earlier nlu*.json); results "
                             "without a fingerprint are trusted as given and the report says so")
    parser.add_argument("--retrain-default", action="store_true",
                        help="train the default pipeline even if results with the same fingerprint exist")
    parser.add_argument("--predict", nargs=3, metavar=("MODEL", "TEXTS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.predict:
        return predict_main(*args.predict)
    if args.quick:
        args.per_intent, args.epochs, args.test_per_intent = 3, "2", 3
        args.name = "nlu-quick" if args.name == "nlu" else args.name
    be_nice()
    machine = machine_line()
    train_sets, test_sets = load_sets()
    if args.test_per_intent:
        test_sets = {k: per_intent_sample(v, args.test_per_intent, args.seed) for k, v in test_sets.items()}
    samples = {lang: per_intent_sample(rows, args.per_intent, args.seed) for lang, rows in train_sets.items()}
    data_sets = {"en": samples["en"], "ar": samples["ar"], "both": samples["en"] + samples["ar"]}
    wanted = [d for d in args.only.split(",") if d in data_sets]
    tests_for = {"en": ["Banking77 test (en)"], "ar": ["ArBanking77 MSA test", "ArBanking77 Palestinian test"],
                 "both": list(test_sets)}
    majlis_source = args.majlis_config if args.majlis_config.is_absolute() else (Path.cwd() / args.majlis_config)
    if not majlis_source.exists():
        parser.error(f"--majlis-config {args.majlis_config}: no such file")
    pipelines = {majlis_label(majlis_source): majlis_source, DEFAULT: DEFAULT_CONFIG}
    TMP.mkdir(parents=True, exist_ok=True)
    trained: List[TrainResult] = []
    evaluated: List[Dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="nlu-", dir=TMP) as tmp:
        work = Path(tmp)
        for data in wanted:
            write_nlu_yaml(data_sets[data], work / f"train-{data}.yml")
        # Interleaved: for each data set, both pipelines back to back, so machine load hits both alike.
        for data in wanted:
            for pipeline, source in pipelines.items():
                tag = "majlis" if is_majlis(pipeline) else "default"
                config = work / f"config-{tag}.yml"
                nlu_config(source, args.epochs, config)
                fingerprint = None
                if pipeline == DEFAULT:
                    fingerprint = default_fingerprint(config.read_text(encoding="utf-8"),
                                                      (work / f"train-{data}.yml").read_text(encoding="utf-8"),
                                                      {t: test_sets[t] for t in tests_for[data]}, args.epochs)
                    reused = None if args.retrain_default else reuse_default(args, fingerprint, data, tests_for[data])
                    if reused:
                        trained.append(reused[0])
                        evaluated += reused[1]
                        continue
                print(f"[nlu] training {pipeline} on {data} ({len(data_sets[data])} examples)", file=sys.stderr)
                result = train(pipeline, config, work / f"train-{data}.yml", work, f"{tag}-{data}", len(data_sets[data]))
                result.fingerprint = fingerprint
                trained.append(result)
                predictions = predict(result.model, {t: [text for text, _ in test_sets[t]] for t in tests_for[data]},
                                      work)
                result.predict_s = float(predictions.pop("__cpu_s__", 0.0))
                result.predicted = sum(len(test_sets[t]) for t in tests_for[data])
                keep = TMP / "nlu-predictions" / f"{args.name}-{tag}-{data}.json"  # for paired comparisons
                keep.parent.mkdir(parents=True, exist_ok=True)
                keep.write_text(json.dumps(predictions), encoding="utf-8")
                for test in tests_for[data]:
                    rows = test_sets[test]
                    gold = [label for _, label in rows]
                    accuracy, f1 = scores(gold, [p["top"] for p in predictions[test]])
                    fallback = sum(p["final"] == "nlu_fallback" for p in predictions[test]) / len(rows)
                    evaluated.append({"test": test, "pipeline": pipeline, "trained_on": data, "n": len(rows),
                                      "accuracy": accuracy, "macro_f1": f1, "fallback": fallback,
                                      "fingerprint": fingerprint})
                    print(f"[nlu] {pipeline} / {data} on {test}: acc {accuracy:.3f} F1 {f1:.3f}", file=sys.stderr)
    report(args, machine, trained, evaluated, {k: len(v) for k, v in test_sets.items()}, data_sets,
           majlis_config=majlis_source)
    return 0


def reuse_default(args: argparse.Namespace, fingerprint: str, data: str,
                  tests: Sequence[str]) -> Optional[Tuple[TrainResult, List[Dict[str, object]]]]:
    """The default pipeline's results on ``data`` from an earlier run, if allowed and available."""
    found = find_cached_default(fingerprint, data)
    if found:
        path, entry, evaluated = found
        verified = True
    elif args.reuse_default:
        trusted = trusted_default(args.reuse_default, data, fingerprint, tests)
        if not trusted:
            return None
        path, (entry, evaluated) = args.reuse_default, trusted
        verified = entry.get("fingerprint") == fingerprint
    else:
        return None
    try:
        shown = str(path.resolve().relative_to(ROOT))
    except ValueError:
        shown = str(path)
    how = "fingerprint matches" if verified else "no fingerprint recorded: trusted as given (--reuse-default)"
    print(f"[nlu] rasa default on {data}: reusing the results in {shown} ({how})", file=sys.stderr)
    fields = {k: entry[k] for k in ("pipeline", "data", "examples", "wall_s", "cpu_s", "peak_rss_mb", "model")}
    result = TrainResult(**fields, fingerprint=fingerprint if verified else None, reused_from=shown, verified=verified)
    evaluated = [{**{k: v for k, v in e.items() if k != "fingerprint"},
                  "fingerprint": fingerprint if verified else None, "reused_from": shown} for e in evaluated]
    order = {t: i for i, t in enumerate(tests)}
    return result, sorted((e for e in evaluated if e["test"] in order), key=lambda e: order[e["test"]])


def report(args: argparse.Namespace, machine: str, trained: List[TrainResult], evaluated: List[Dict[str, object]],
           test_sizes: Dict[str, int], data_sets: Dict[str, List[Example]],
           majlis_config: Optional[Path] = None) -> None:
    epochs = ("each pipeline's own (Majlis 50, Rasa default 100)" if args.epochs == "shipped"
              else f"{args.epochs} for both pipelines (shipped: Majlis 50, Rasa default 100)")
    sample = "all" if args.per_intent <= 0 else f"{args.per_intent} per intent and language (seed {args.seed})"
    tests = "full test sets" if not args.test_per_intent else f"{args.test_per_intent} per intent (seed {args.seed})"
    title = "# Understanding: Majlis' NLU pipeline vs Rasa's default pipeline"
    if args.quick:
        title += " (QUICK SMOKE RUN: not a result)"
    lines = [title, "", machine, "",
             f"Protocol: training examples: {sample}; DIET epochs: {epochs}; every other setting as shipped "
             f"(config.yml; bench/config.rasa-default.yml = `rasa init`); tests: {tests} "
             f"({', '.join(f'{k} n={v}' for k, v in test_sizes.items())}). Accuracy and macro-F1 of the top "
             "intent; *to fallback* = share the pipeline's FallbackClassifier would have answered with "
             "`nlu_fallback`. Published anchors were trained on the *full* training sets (10,003 English, "
             "21,559 Arabic examples) by fine-tuning BERT-size transformers: they bound what is possible, they "
             "are not like-for-like.", ""]
    majlis = next((e["pipeline"] for e in evaluated if is_majlis(str(e["pipeline"]))), MAJLIS)
    if majlis != MAJLIS:
        lines += [f"Majlis pipeline under test: `{majlis[len('majlis ('):-1]}` (not config.yml; "
                  "every setting it does not change is as in config.yml).", ""]
    reused = [t for t in trained if t.reused_from]
    for t in reused:
        how = ("its fingerprint (default config, sampled training data, test sets, epochs, Rasa version) matches"
               if t.verified else "**that file records no fingerprint, so the reuse is trusted, not checked** "
               "(`--reuse-default`)")
        lines += [f"Rasa default on *{t.data.split('-', 1)[1]}*: not retrained; results and training cost "
                  f"reused from `{t.reused_from}`; {how}.", ""]
    rows = []
    for item in evaluated:
        rows.append([item["test"], item["trained_on"], item["pipeline"], item["n"], f"{100 * item['accuracy']:.1f}%",
                     f"{item['macro_f1']:.3f}", f"{100 * item['fallback']:.1f}%", ANCHORS[item["test"]]])
    lines += table(["test set", "trained on", "pipeline", "n", "accuracy", "macro-F1", "to fallback",
                    "published anchor"], rows)
    lines += ["", "Difference (Majlis − Rasa default), accuracy points:", ""]
    diff_rows = []
    for test in test_sizes:
        for data in ("en", "ar", "both"):
            pair = {e["pipeline"]: e for e in evaluated if e["test"] == test and e["trained_on"] == data}
            if len(pair) == 2:
                ours = next(e for p, e in pair.items() if is_majlis(p))
                default = pair[DEFAULT]
                diff_rows.append([test, data, f"{100 * (ours['accuracy'] - default['accuracy']):+.1f}",
                                  f"{ours['macro_f1'] - default['macro_f1']:+.3f}"])
    lines += table(["test set", "trained on", "Δ accuracy (points)", "Δ macro-F1"], diff_rows)
    lines += ["", f"Training cost (child process `rasa train nlu`, at nice {os.nice(0)}):", ""]
    lines += table(["pipeline", "trained on", "examples", "wall time", "CPU time", "peak RSS",
                    "inference CPU / message"],
                   [[t.pipeline, t.data.split("-", 1)[1], t.examples, f"{t.wall_s:.0f} s", f"{t.cpu_s:.0f} s",
                     f"{t.peak_rss_mb:.0f} MB",
                     f"{1000 * t.predict_s / t.predicted:.2f} ms" if t.predict_s and t.predicted else "n/a"]
                    for t in trained])
    if reused:
        lines += ["", "Rows of reused results show the training cost measured in the run they come from."]
    lines += ["", "Inference CPU / message: CPU time of the test messages through the trained graph, in "
              "batches of 256, model loading excluded."]
    lines += ["", load_line(), "", f"Command: `{' '.join(['python bench/nlu.py', *sys.argv[1:]])}`"]
    name = args.name
    write_report(name, lines)
    protocol = {"per_intent": args.per_intent, "epochs": args.epochs, "seed": args.seed,
                "test_per_intent": args.test_per_intent, "quick": args.quick}
    if majlis_config is not None:
        protocol["majlis_config"] = majlis_label(majlis_config)[len("majlis ("):-1]
        protocol["majlis_config_text"] = majlis_config.read_text(encoding="utf-8")
    (common.RESULTS / f"{name}.json").write_text(json.dumps({"protocol": protocol,
                                                         "trained": [asdict(t) for t in trained],
                                                         "evaluated": evaluated}, indent=1), encoding="utf-8")
    plot(name, evaluated, title.lstrip("# "))


def plot(name: str, evaluated: List[Dict[str, object]], title: str) -> None:
    plt = pyplot()
    labels = sorted({(e["test"], e["trained_on"]) for e in evaluated}, key=lambda k: (k[1], k[0]))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.38
    majlis = next((str(e["pipeline"]) for e in evaluated if is_majlis(str(e["pipeline"]))), MAJLIS)
    for offset, pipeline, color in ((-width / 2, majlis, "#2a7f62"), (width / 2, DEFAULT, "#999999")):
        values = []
        for test, data in labels:
            match = [e for e in evaluated if e["test"] == test and e["trained_on"] == data and e["pipeline"] == pipeline]
            values.append(100 * match[0]["accuracy"] if match else 0)
        bars = ax.bar([i + offset for i in range(len(labels))], values, width, label=pipeline, color=color)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([f"{t.replace('ArBanking77 ', 'Ar ').replace(' test', '')}\n(trained: {d})" for t, d in labels],
                       fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(common.RESULTS / f"{name}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())

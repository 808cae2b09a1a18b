"""Smoke tests of the benchmark harness (bench/): data conversion and report writing.

No server is started and nothing is timed: the load benchmarks need minutes of model
loading, so these only check that the pieces a run depends on produce what the
reports promise.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import psutil  # noqa: E402,F401  (pinned in requirements.txt)

import common  # noqa: E402
import nlu  # noqa: E402


def test_percentile_interpolates() -> None:
    assert common.percentile([1, 2, 3, 4], 50) == 2.5
    assert common.percentile([5], 99) == 5
    assert common.percentile([], 50) != common.percentile([], 50)  # nan


def test_per_intent_sample_is_seeded_and_balanced() -> None:
    rows = [(f"text {i} {intent}", intent) for intent in ("a", "b") for i in range(10)]
    first = nlu.per_intent_sample(rows, 3, seed=1)
    assert first == nlu.per_intent_sample(rows, 3, seed=1)
    assert sorted(intent for _, intent in first) == ["a"] * 3 + ["b"] * 3
    assert nlu.per_intent_sample(rows, 0, seed=1) == rows


def test_nlu_yaml_is_read_back_by_rasa(tmp_path: Path) -> None:
    from rasa.shared.nlu.training_data.loading import load_data

    rows = [("where is my card?", "card_arrival"), ("أين بطاقتي؟", "card_arrival"),
            ("fee [extra](charged) twice", "extra_charge_on_statement"), ("why a fee:  ok", "extra_charge_on_statement")]
    path = tmp_path / "nlu.yml"
    nlu.write_nlu_yaml(rows, path)
    data = load_data(str(path))
    assert sorted(m.get("intent") for m in data.training_examples) == ["card_arrival"] * 2 + ["extra_charge_on_statement"] * 2
    assert not data.entities  # brackets in customer text are not read as entity markup
    assert "أين بطاقتي؟" in {m.get("text") for m in data.training_examples}


def test_datasets_map_to_one_label_space() -> None:
    train, tests = nlu.load_sets()
    english = {label for _, label in train["en"]}
    assert len(english) == 77
    assert {label for _, label in train["ar"]} == english
    assert all({label for _, label in rows} <= english for rows in tests.values())


def test_nlu_report_writes_table_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    args = nlu.argparse.Namespace(epochs="2", sizes="3", default_sizes="3", seed=42, test_per_intent=3, quick=True,
                                  name="nlu-smoke")
    evaluated = [{"test": "ArBanking77 MSA test", "pipeline": pipeline, "trained_on": "ar", "per_intent": 3, "n": 231,
                  "served": served, "accuracy": accuracy, "macro_f1": accuracy - 0.01, "fallback": accuracy - served,
                  "wrong": 1 - accuracy}
                 for pipeline, served, accuracy in (("majlis (config.yml)", 0.75, 0.8), (nlu.REFERENCE, 0.7, 0.7),
                                                    ("rasa default", 0.6, 0.7))]
    trained = [nlu.TrainResult("majlis (config.yml)", "majlis-ar-n3", 231, 10.0, 12.0, 900.0, "m.tar.gz", per_intent=3)]
    nlu.report(args, "Machine: test", trained, evaluated, {"ArBanking77 MSA test": 231})
    text = (tmp_path / "nlu-smoke.md").read_text(encoding="utf-8")
    assert "| ArBanking77 MSA test | ar | 3 | majlis (config.yml) | 231 | 75.0% | 80.0% |" in text
    assert "| ArBanking77 MSA test | ar | 3 | +5.0 | +10.0 | 20.0% | n/a |" in text
    assert (tmp_path / "nlu-smoke.png").stat().st_size > 0


def test_nlu_served_accuracy_counts_fallback_as_not_understood() -> None:
    predictions = [{"top": "a", "final": "a"}, {"top": "a", "final": "nlu_fallback"}, {"top": "b", "final": "b"},
                   {"top": "b", "final": "nlu_fallback"}]
    scores = nlu.evaluate(["a", "a", "a", "b"], predictions)
    assert scores["served"] == 0.25 and scores["accuracy"] == 0.75
    assert scores["fallback"] == 0.5 and scores["wrong"] == 0.25


def test_reference_at_the_same_wrong_answer_rate_answers_its_most_confident_first() -> None:
    gold = ["a", "b", "c", "d"]
    predictions = [{"top": "a", "confidence": 0.9}, {"top": "x", "confidence": 0.8},
                   {"top": "c", "confidence": 0.7}, {"top": "d", "confidence": 0.1}]
    assert nlu.served_at_wrong(gold, predictions, 0.0) == 0.25   # stops before the wrong 0.8
    assert nlu.served_at_wrong(gold, predictions, 0.25) == 0.75  # may take the one wrong answer


def test_a_training_still_running_at_the_deadline_is_stopped_and_its_cost_kept(tmp_path: Path) -> None:
    import time

    data = tmp_path / "nlu.yml"
    nlu.write_nlu_yaml([("hello", "greet"), ("bye", "goodbye")], data)
    config = tmp_path / "config.yml"
    nlu.nlu_config(nlu.DEFAULT_CONFIG, "2", config)
    started = time.time()
    with pytest.raises(nlu.DeadlineReached) as stopped:
        nlu.train("rasa default", config, data, tmp_path, "stopped", 2, deadline=started)
    assert not (tmp_path / "stopped.tar.gz").exists()
    assert 0 <= stopped.value.wall_s < time.time() - started + 1


def test_a_partial_report_is_written_beside_the_last_complete_one_and_says_what_was_not_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "RESULTS", tmp_path)
    args = nlu.argparse.Namespace(epochs="20", sizes="10,0", default_sizes="10,0", seed=42, test_per_intent=0,
                                  quick=False, name="nlu-smoke")
    evaluated = [{"test": "ArBanking77 MSA test", "pipeline": nlu.REFERENCE, "trained_on": "ar", "per_intent": 10,
                  "n": 3574, "served": 0.6, "accuracy": 0.6, "macro_f1": 0.6, "fallback": 0.0, "wrong": 0.4}]
    trained = [nlu.TrainResult(nlu.REFERENCE, "reference-ar", 770, 30.0, 20.0, 0.0, "", per_intent=10,
                               load_mean=12.5, load_max=14.0)]
    not_run = ["rasa default on ar, all per intent (15,000 examples): training stopped unfinished at the run's "
               "deadline (15:45 UTC) after 50 min wall, 9 min CPU (mean load 20.0)"]
    nlu.report(args, "Machine: test", trained, evaluated, {"ArBanking77 MSA test": 3574}, not_run=not_run,
               partial=True)
    text = (tmp_path / "nlu-smoke-partial.md").read_text(encoding="utf-8")
    assert not (tmp_path / "nlu-smoke.md").exists()
    assert "RUN IN PROGRESS" in text and f"- {not_run[0]}" in text
    assert "| 30 s (0.5 min) | 20 s (0.3 min) | 12.5 / 14.0 |" in text
    nlu.report(args, "Machine: test", trained, evaluated, {"ArBanking77 MSA test": 3574}, not_run=not_run)
    assert (tmp_path / "nlu-smoke.md").exists() and not (tmp_path / "nlu-smoke-partial.md").exists()

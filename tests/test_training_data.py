"""The training data and the dialogue, checked with Rasa's own tools.

- ``rasa data validate``: domain, NLU data, rules and stories agree (no conflicts).
- The coverage the foundation issue asks for: for every intent at least 25 English,
  25 Arabic and 10 Arabizi examples.
- ``rasa test`` on tests/test_stories.yml (English, Arabic and Arabizi conversations)
  with ``--fail-on-prediction-errors``, against the trained model and a real action server.
"""
from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from tests.conftest import action_endpoint

ROOT = Path(__file__).resolve().parents[1]
RASA = str(Path(sys.executable).with_name("rasa"))
DATA = ["data/nlu", "data/rules", "data/stories"]
MINIMUM = {"en": 25, "ar": 25, "arabizi": 10}


def run_rasa(*args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([RASA, *args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_rasa_data_validate_is_clean():
    result = run_rasa("data", "validate", "--fail-on-warnings", "--domain", "domain.yml", "--data", *DATA,
                      "--config", "config.yml")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.parametrize("language", sorted(MINIMUM))
def test_every_intent_has_enough_examples_in_each_language(language):
    domain_intents = set(yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"])
    data = load_data(str(ROOT / "data" / "nlu" / language))
    counts = collections.Counter(example.get("intent") for example in data.training_examples)
    short = {intent: counts.get(intent, 0) for intent in domain_intents if counts.get(intent, 0) < MINIMUM[language]}
    assert not short, f"{language}: intents below {MINIMUM[language]} examples: {short}"


@pytest.mark.e2e
def test_end_to_end_stories_pass(trained_model, action_server_url, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"action_endpoint": action_endpoint(action_server_url),
                                         "nlg": {"type": "bot.nlg.BilingualNLG"}}))
    result = run_rasa("test", "core", "--model", str(trained_model), "--stories", "tests/test_stories.yml",
                      "--endpoints", str(endpoints), "--fail-on-prediction-errors", "--out", str(tmp_path / "results"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]

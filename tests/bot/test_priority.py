"""bot.priority: the model processes start below the receiver's CPU priority."""
from __future__ import annotations

import os
import subprocess
import sys

from bot.priority import DEFAULT_MODEL_NICE, lower_priority, model_nice


def test_a_child_started_with_it_runs_that_many_levels_lower():
    mine = os.nice(0)
    out = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"], capture_output=True, text=True,
                         preexec_fn=lower_priority(model_nice({})), check=True).stdout
    assert int(out) == min(19, mine + DEFAULT_MODEL_NICE)


def test_the_setting_is_read_from_the_environment_and_bounded():
    assert model_nice({"MAJLIS_MODEL_NICE": "0"}) == 0
    assert model_nice({"MAJLIS_MODEL_NICE": "30"}) == 19
    assert model_nice({"MAJLIS_MODEL_NICE": "-4"}) == 0
    assert model_nice({"MAJLIS_MODEL_NICE": "fast"}) == DEFAULT_MODEL_NICE

"""bench/mutation.py runs mutmut end to end on a tiny module and reports its survivors.

The real run (the guarantee-carrying modules) takes hours and is not part of the suite.
"""
from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_the_mutation_script_reports_the_score_and_the_survivors(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "bench/mutation.py", "--module", "tests/bench/mutation_sample/adult.py",
         "--tests", "tests/bench/mutation_sample/checks.py", "--results", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    [outcome] = json.loads((tmp_path / "mutation.json").read_text()).values()
    # The checks never look at 18 itself: "age > 18" and "AGE_OF_MAJORITY = 19" survive.
    assert outcome["survived"] >= 2 and outcome["killed"] >= 1
    diffs = "\n".join(s["diff"] for s in outcome["survivors"])
    assert "+    return age > AGE_OF_MAJORITY" in diffs and "+AGE_OF_MAJORITY = 19" in diffs
    report = (tmp_path / "mutation.md").read_text()
    assert "Mutation score **" in report and "tests/bench/mutation_sample/adult.py" in report
    assert "not explained: a missing test" in report
    assert not (ROOT / ".mutmut-cache").exists()  # mutmut ran in a scratch copy, not in the tree

"""Checks a candidate must pass before it trains: ``rasa data validate`` and Majlis' own data checks.

Blocking: every bot answer has an owner and a review date (:func:`bot.answers.book.problems`)
and ``rasa data validate --fail-on-warnings`` (what the test suite runs) succeeds.  Reported
but not blocking: examples whose NLU key (normalised, Arabizi transliterated) sits under two
intents, because some such pairs are different words to Rasa (ابدأ "start" / أبدا "never").
"""
from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from bot.answers.book import problems
from bot.workbench.nlu_files import NluData

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
TRAINING_DATA = ("data/nlu", "data/rules", "data/stories")
#: Warnings ``rasa data validate`` prints that do not fail it (responses only custom actions send).
_NOT_FAILING = ("is not used in any story or rule",)
MAX_SHOWN = 12


@dataclass
class CheckReport:
    errors: List[str] = field(default_factory=list)     # block the candidate
    warnings: List[str] = field(default_factory=list)   # shown, not blocking

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> Dict[str, Any]:
        return {"ok": self.ok, "errors": self.errors[:MAX_SHOWN], "warnings": self.warnings[:MAX_SHOWN],
                "more": max(0, len(self.errors) - MAX_SHOWN)}


def majlis_checks(root: Path) -> CheckReport:
    report = CheckReport(errors=problems(root))
    for key, intents in sorted(NluData(root).keys().items()):
        if key.strip() and len(intents) > 1:
            report.warnings.append(f"the same example under {', '.join(sorted(intents))}: {key}")
    return report


def _findings(output: str) -> List[str]:
    """What ``rasa data validate`` found, one line each, without paths, colours and progress bars."""
    found = []
    for raw in _ANSI.sub("", output).splitlines():
        line = raw.strip()
        if "UserWarning:" in line:
            line = line.split("UserWarning:", 1)[1].strip()
        elif not (line.startswith("Found ") or " ERROR " in line):
            continue
        if line and not any(marker in line for marker in _NOT_FAILING) and line not in found:
            found.append(line)
    return found


async def rasa_validate(root: Path, repo: Path) -> List[str]:
    """``rasa data validate --fail-on-warnings`` on ``root``: empty when it passes."""
    command = [sys.executable, "-m", "bot.rasa_cli", "data", "validate", "--fail-on-warnings",
               "--domain", "domain.yml", "--data", *TRAINING_DATA, "--config", "config.yml"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    process = await asyncio.create_subprocess_exec(*command, cwd=root, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    if process.returncode == 0:
        return []
    return [f"rasa data validate: {line}" for line in _findings(output.decode("utf-8", "replace"))] or \
        [f"rasa data validate failed (exit {process.returncode})"]


async def validate(root: Path, repo: Path) -> CheckReport:
    """Majlis' checks (in a worker thread), then Rasa's."""
    report = await asyncio.get_running_loop().run_in_executor(None, majlis_checks, root)
    report.errors += await rasa_validate(root, repo)
    return report

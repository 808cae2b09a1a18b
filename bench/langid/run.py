"""Language identification: Majlis' detector against langdetect, per language and form.

Data (nothing here is written by the detector's authors):
  - English: Banking77 test.csv (PolyAI, CC BY 4.0), 3,080 real customer queries.
  - Arabic:  ArBanking77 MSA test + Palestinian test (SinaLab, CC BY-SA 4.0), 7,381 queries.
  - Arabizi: the Arabizi NLU examples in data/nlu/arabizi/ (written for this project, so a
    weaker test: flagged as such in the output).
  - Arabizi beyond Gulf: bench/langid/arabizi_dialects.tsv, Egyptian, Levantine and Maghrebi
    Arabizi (with French mixed in), self-written, flagged as such; its "short" lines (three
    words or fewer, evidence both ways) count as right when called Arabizi or left to the
    conversation (not clear), wrong when called English.
The English word list the detector uses is built from Banking77 *train* only.

Usage: python bench/langid/run.py [--out bench/results/langid.md]
"""
from __future__ import annotations

import argparse
import csv
import platform
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.language.detect import detect  # noqa: E402
from common import dataset  # noqa: E402


def load_sets() -> Dict[str, List[Tuple[str, str]]]:
    """name -> [(text, expected form)]"""
    sets: Dict[str, List[Tuple[str, str]]] = {}
    with open(dataset("banking77", "test.csv"), encoding="utf-8") as f:
        sets["English (Banking77 test)"] = [(row["text"], "english") for row in csv.DictReader(f)]
    arabic: List[Tuple[str, str]] = []
    for name in ("Banking77_Arabized_MSA_test.csv", "Banking77_Arabized_PAL_test.csv"):
        with open(dataset("arbanking77", name), encoding="utf-8") as f:
            arabic += [(row["text"], "arabic") for row in csv.DictReader(f)]
    sets["Arabic script (ArBanking77 MSA+PAL test)"] = arabic
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(ROOT / "data" / "nlu" / "arabizi"))
    sets["Arabizi (project NLU data, self-written)"] = [(m.get("text"), "arabizi") for m in data.training_examples]
    by_region: Dict[str, List[Tuple[str, str]]] = {}
    for line in (ROOT / "bench" / "langid" / "arabizi_dialects.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            region, text = line.split("\t", 1)
            by_region.setdefault(region, []).append((text, "arabizi|unknown" if region == "short" else "arabizi"))
    for region, rows in by_region.items():
        label = "short lines (3 words or fewer)" if region == "short" else f"{region.capitalize()} Arabizi"
        sets[f"{label} (self-written)"] = rows
    data = load_data(str(ROOT / "data" / "nlu" / "en"))
    sets["English (project NLU data, self-written)"] = [(m.get("text"), "english") for m in data.training_examples]
    return sets


def majlis(text: str) -> str:
    guess = detect(text, default="ar")
    return guess.form if guess.clear else "unknown"


def langdetect_form(text: str) -> str:
    from langdetect import DetectorFactory, LangDetectException, detect as ld_detect

    DetectorFactory.seed = 0
    try:
        code = ld_detect(text)
    except LangDetectException:
        return "unknown"
    if code == "ar":
        return "arabic"
    if code == "en":
        return "english"
    return "other:" + code


def langdetect_or_rule(text: str) -> str:
    """langdetect for Latin text after the Arabic-script rule (what langdetect could add)."""
    if any("\u0600" <= ch <= "\u06ff" for ch in text):
        return "arabic"
    form = langdetect_form(text)
    return form if form in ("english",) else "arabizi"


SYSTEMS: Dict[str, Callable[[str], str]] = {
    "majlis detect": majlis,
    "langdetect": langdetect_form,
    "Arabic-script rule + langdetect (non-English Latin = Arabizi)": langdetect_or_rule,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "langid.md"))
    args = parser.parse_args()
    sets = load_sets()
    lines = [f"# Language identification ({date.today().isoformat()}, {platform.machine()}, "
             f"{platform.python_implementation()} {platform.python_version()})", "",
             "| system | " + " | ".join(f"{name} (n={len(rows)})" for name, rows in sets.items()) + " | µs/message |",
             "|---|" + "---|" * (len(sets) + 1)]
    for system_name, system in SYSTEMS.items():
        cells = []
        total_time = 0.0
        total_n = 0
        for rows in sets.values():
            start = time.perf_counter()
            correct = sum(system(text) in expected.split("|") for text, expected in rows)
            total_time += time.perf_counter() - start
            total_n += len(rows)
            cells.append(f"{100 * correct / len(rows):.1f}%")
        lines.append(f"| {system_name} | " + " | ".join(cells) + f" | {1e6 * total_time / total_n:.0f} |")
    output = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(output, encoding="utf-8")
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
